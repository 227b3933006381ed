import { describe, expect, it } from 'vitest';
import type { Doc } from './document.js';
import { commentFromJira, wikiText } from './jira-comment-text.js';
import { renderAdf } from './render-adf.js';
import { renderWiki } from './render-wiki.js';

/* A comment opsbook wrote reads back, from Jira, as the words it was written with. */

const doc: Doc = {
  blocks: [
    { type: 'heading', level: 3, text: 'Proposed plan: disk-cleanup 1.2.0 on 2 host(s)' },
    {
      type: 'list',
      items: [
        [
          { type: 'text', text: 'approval id ' },
          { type: 'text', text: '-V1_Maz-on', code: true },
        ],
      ],
    },
    { type: 'code', text: 'find /var/log -name "*.log" -mtime +7 \\\n  -delete', language: 'bash' },
  ],
};

describe('a Jira comment as plain text', () => {
  it('reads a Cloud ADF body: headings, list items and code on their own lines', () => {
    const c = commentFromJira(
      { id: '10', author: { accountId: 'abc' }, created: 'T', body: renderAdf(doc) },
      'cloud',
    );
    expect(c).toMatchObject({ id: '10', author: 'abc', created: 'T' });
    expect(c.text.split('\n')).toEqual([
      'Proposed plan: disk-cleanup 1.2.0 on 2 host(s)',
      'approval id -V1_Maz-on',
      'find /var/log -name "*.log" -mtime +7 \\',
      '  -delete',
    ]);
  });

  it('reads Data Center wiki markup with its escapes undone, code blocks kept as written', () => {
    const text = wikiText(renderWiki(doc));
    expect(text).toContain('approval id -V1_Maz-on');
    expect(text).toContain('find /var/log -name "*.log" -mtime +7 \\\n  -delete');
    expect(
      commentFromJira({ id: 1, author: { name: 'eve' }, body: 'a' }, 'datacenter'),
    ).toMatchObject({ id: '1', author: 'eve', text: 'a' });
  });
});

describe('ADF nodes opsbook does not write, in comments people wrote in Jira', () => {
  const read = (content: unknown[]) =>
    commentFromJira({ id: '11', body: { type: 'doc', version: 1, content } }, 'cloud').text;

  it('keeps the words of smart links, status lozenges, dates, mentions and emoji', () => {
    const text = read([
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'see ' },
          { type: 'inlineCard', attrs: { url: 'https://grafana.example/d/disk' } },
          { type: 'text', text: ' now ' },
          { type: 'status', attrs: { text: 'BLOCKED', color: 'red' } },
          { type: 'text', text: ' until ' },
          { type: 'date', attrs: { timestamp: '1796601600000' } },
          { type: 'text', text: ', ask ' },
          { type: 'mention', attrs: { id: '5b10ac8d82e05b22cc7d4ef5' } },
          { type: 'text', text: ' ' },
          { type: 'emoji', attrs: { shortName: ':warning:' } },
        ],
      },
      { type: 'blockCard', attrs: { url: 'https://runbooks.example/disk' } },
      {
        type: 'table',
        content: [
          {
            type: 'tableRow',
            content: [
              {
                type: 'tableHeader',
                content: [{ type: 'paragraph', content: [{ type: 'text', text: 'host' }] }],
              },
              {
                type: 'tableCell',
                content: [{ type: 'paragraph', content: [{ type: 'text', text: 'web-01' }] }],
              },
            ],
          },
        ],
      },
    ]);
    expect(text).toBe(
      'see https://grafana.example/d/disk now BLOCKED until 2026-12-07, ask @5b10ac8d82e05b22cc7d4ef5 :warning:\nhttps://runbooks.example/disk\nhost\nweb-01',
    );
  });

  it('leaves out a date it cannot read, rather than fail on the comment', () => {
    const date = (timestamp: string) => ({ type: 'date', attrs: { timestamp } });
    const text = read([
      { type: 'paragraph', content: [date('9000000000000000'), date('soon'), date('')] },
      { type: 'paragraph', content: [{ type: 'text', text: 'still read' }] },
    ]);
    expect(text).toBe('still read');
  });
});
