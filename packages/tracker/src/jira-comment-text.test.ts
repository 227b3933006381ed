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
