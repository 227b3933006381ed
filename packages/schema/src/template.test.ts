import { describe, expect, it } from 'vitest';
import { parseTemplate, templateStrings } from './template.js';

describe('parseTemplate', () => {
  it('splits text and the three kinds of reference', () => {
    const t = parseTemplate('ls {{ params.path }} on {{host.name}} port {{  host.vars.app_port }}');
    expect(t.errors).toEqual([]);
    expect(t.parts).toEqual([
      { kind: 'text', text: 'ls ' },
      { kind: 'ref', ref: { kind: 'param', name: 'path' }, raw: '{{ params.path }}', offset: 3 },
      { kind: 'text', text: ' on ' },
      { kind: 'ref', ref: { kind: 'host-name' }, raw: '{{host.name}}', offset: 24 },
      { kind: 'text', text: ' port ' },
      {
        kind: 'ref',
        ref: { kind: 'host-var', name: 'app_port' },
        raw: '{{  host.vars.app_port }}',
        offset: 43,
      },
    ]);
  });

  it('turns a quoted literal into text, for commands that use braces themselves', () => {
    const t = parseTemplate(`docker inspect --format '{{ "{{" }}.State.Status{{ "}}" }}' web`);
    expect(t.errors).toEqual([]);
    expect(t.parts).toEqual([
      { kind: 'text', text: "docker inspect --format '{{.State.Status}}' web" },
    ]);
  });

  it.each([
    ['{{ params.a | upper }}'],
    ['{{ params["a"] }}'],
    ['{{ env.HOME }}'],
    ['{{ params.a + params.b }}'],
    ['{{ host.vars }}'],
    ['{{ }}'],
    ['{{ params.a.b }}'],
  ])('refuses the expression %s', (text) => {
    const t = parseTemplate(text);
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0]?.message).toContain('is not a template opsbook knows');
  });

  it('refuses an unclosed placeholder', () => {
    expect(parseTemplate('echo {{ params.a').errors[0]?.message).toMatch(/never closed/);
  });

  it('leaves text without placeholders alone', () => {
    expect(parseTemplate("awk '{print $1}' } }}").parts).toEqual([
      { kind: 'text', text: "awk '{print $1}' } }}" },
    ]);
  });
});

describe('templateStrings', () => {
  it('finds templates anywhere in a with: value', () => {
    expect(
      templateStrings({ a: 'x', b: ['{{ params.p }}', 3], c: { d: 'y {{ host.name }}' } }),
    ).toEqual([
      { path: ['b', 0], text: '{{ params.p }}' },
      { path: ['c', 'd'], text: 'y {{ host.name }}' },
    ]);
  });
});
