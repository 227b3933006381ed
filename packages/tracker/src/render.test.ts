import { describe, expect, it } from 'vitest';
import { type Doc, docText } from './document.js';
import { renderAdf } from './render-adf.js';
import { renderWiki } from './render-wiki.js';

const doc: Doc = {
  blocks: [
    { type: 'heading', level: 3, text: 'Result' },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'ok ', bold: true },
        { type: 'link', text: 'journal', href: 'https://ops.example/j/1' },
      ],
    },
    { type: 'list', items: [[{ type: 'text', text: 'web-01' }]] },
    { type: 'table', header: ['host', 'exit'], rows: [['web-01', '0']] },
    { type: 'code', text: 'echo done' },
  ],
};

describe('document renderers', () => {
  it('renders ADF with marks, lists, tables and code blocks', () => {
    const adf = renderAdf(doc);
    expect(adf.content?.map((n) => n.type)).toEqual([
      'heading',
      'paragraph',
      'bulletList',
      'table',
      'codeBlock',
    ]);
    expect(adf.content?.[1]?.content).toEqual([
      { type: 'text', text: 'ok ', marks: [{ type: 'strong' }] },
      {
        type: 'text',
        text: 'journal',
        marks: [{ type: 'link', attrs: { href: 'https://ops.example/j/1' } }],
      },
    ]);
  });

  it('marks text both bold and code as code alone in ADF, as wiki markup shows it', () => {
    const both: Doc = {
      blocks: [
        { type: 'paragraph', content: [{ type: 'text', text: 'x1', bold: true, code: true }] },
      ],
    };
    expect(renderAdf(both).content?.[0]?.content).toEqual([
      { type: 'text', text: 'x1', marks: [{ type: 'code' }] },
    ]);
    expect(renderWiki(both)).toBe('{{x1}}');
  });

  it('never emits an empty ADF text node (Jira refuses them)', () => {
    const adf = renderAdf({
      blocks: [
        { type: 'paragraph', content: [{ type: 'text', text: '' }] },
        { type: 'code', text: '' },
      ],
    });
    expect(JSON.stringify(adf)).not.toContain('"text":""');
  });

  it('renders a mention as an ADF mention node, [~name] in wiki markup, @name as text', () => {
    const mention: Doc = {
      blocks: [
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'to ' },
            { type: 'mention', id: 'lee]x', text: 'Lee Lead' },
          ],
        },
      ],
    };
    expect(renderAdf(mention).content?.[0]?.content).toEqual([
      { type: 'text', text: 'to ' },
      { type: 'mention', attrs: { id: 'lee]x', text: '@Lee Lead' } },
    ]);
    expect(renderWiki(mention)).toBe('to [~leex]');
    expect(docText(mention)).toBe('to @Lee Lead');
  });

  it('links only http(s) and mailto addresses: a javascript: or data: one is shown as text', () => {
    for (const href of ['javascript:alert(1)', 'data:text/html,<script>x</script>', 'not a url']) {
      const doc = {
        blocks: [
          { type: 'paragraph' as const, content: [{ type: 'link' as const, text: 'Src', href }] },
        ],
      };
      const adf = JSON.stringify(renderAdf(doc));
      expect(adf, href).not.toContain('"link"');
      expect(adf, href).toContain(`Src (${href.replace(/"/g, '\\"')})`);
      expect(renderWiki(doc), href).not.toContain('|');
    }
    const ok = {
      blocks: [
        {
          type: 'paragraph' as const,
          content: [
            { type: 'link' as const, text: 'Src', href: 'https://prom.example/graph?g0=x' },
          ],
        },
      ],
    };
    expect(JSON.stringify(renderAdf(ok))).toContain('"href":"https://prom.example/graph?g0=x"');
    expect(renderWiki(ok)).toBe('[Src|https://prom.example/graph?g0=x]');
  });

  it('renders wiki markup for Data Center', () => {
    expect(renderWiki(doc)).toBe(
      'h3. Result\n\n*ok *[journal|https://ops.example/j/1]\n\n* web\\-01\n\n||host||exit||\n|web\\-01|0|\n\n{code}\necho done\n{code}',
    );
  });

  it('keeps command output literal in wiki markup: it cannot close the code block or forge links', () => {
    const wiki = renderWiki({
      blocks: [
        { type: 'code', text: 'x\n{code}\n[evil|javascript:alert(1)]\n{CODE}\n{Code:java}' },
        {
          type: 'paragraph',
          content: [{ type: 'text', text: '[click|http://evil] *bold* |cell|' }],
        },
        { type: 'table', header: ['a'], rows: [['x|y\nz']] },
      ],
    });
    expect(wiki.match(/\{code\}/g)).toHaveLength(2);
    // In any case: whether Jira takes {CODE} for {code} is not documented.
    expect(wiki.match(/\{code/gi)).toHaveLength(2);
    expect(wiki).toContain('\\[click\\|http://evil\\] \\*bold\\* \\|cell\\|');
    expect(wiki).toContain('|x\\|y z|');
  });

  it('keeps label values on their line in wiki markup: a line break starts no heading and ends no link', () => {
    const forged = (sep: string) => `DiskFull${sep}h1. fake heading`;
    for (const sep of ['\n', '\r', '\r\n', '\u2028', '\u2029', '\u0085', '\v', '\f']) {
      const wiki = renderWiki({
        blocks: [
          { type: 'heading', level: 3, text: forged(sep) },
          {
            type: 'paragraph',
            content: [
              { type: 'text', text: forged(sep), bold: true },
              { type: 'text', text: forged(sep), code: true },
              { type: 'link', text: forged(sep), href: `https://prom.example/g${sep}h1. x` },
            ],
          },
          { type: 'list', items: [[{ type: 'text', text: forged(sep) }]] },
          { type: 'table', header: [forged(sep)], rows: [[forged(sep)]] },
        ],
      });
      const lines = wiki.split(/\r\n|[\n\v\f\r\u0085\u2028\u2029]/);
      expect(
        lines.filter((l) => l.startsWith('h1.')),
        JSON.stringify(sep),
      ).toEqual([]);
      // Each block is one line: the blank line between blocks, and the table's two rows.
      expect(lines, JSON.stringify(sep)).toHaveLength(8);
      expect(wiki, JSON.stringify(sep)).toContain(
        '[DiskFull h1. fake heading|https://prom.example/g',
      );
    }
  });
});
