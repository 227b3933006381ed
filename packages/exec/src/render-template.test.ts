import { describe, expect, it } from 'vitest';
import { renderRunTemplate } from './render-command.js';
import { renderTemplate, type TemplateEncoding } from './render-template.js';

const host = { name: 'web-01', vars: { root: '/srv/data', nested: { a: 1 } } };
const plain: TemplateEncoding = {
  value: (text) => text,
  secret: () => {
    throw new Error('no secret expected');
  },
};

describe('renderTemplate', () => {
  it('substitutes values as the encoding writes them', () => {
    expect(renderTemplate('{{ host.vars.root }}/a b', { params: {}, host }, plain)).toBe(
      '/srv/data/a b',
    );
  });

  it('refuses what a run: refuses, with the same problems, whatever the encoding', () => {
    const template = 'x {{ params.nope }} {{ host.vars.missing }} {{ host.vars.nested }}';
    const input = { params: {}, host, source: 'runbook.yaml steps.s1' };
    const problemsOf = (render: () => string) => {
      try {
        render();
      } catch (e) {
        expect(e).toMatchObject({ code: 'TEMPLATE_INVALID' });
        return (e as { problems: unknown[] }).problems;
      }
      throw new Error('did not throw');
    };
    const asData = problemsOf(() => renderTemplate(template, input, plain));
    const asShell = problemsOf(() => renderRunTemplate(template, input));
    expect(asData).toHaveLength(3);
    expect(asData).toEqual(asShell);
  });
});
