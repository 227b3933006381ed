import { type Block, type Doc, type Inline, linkOrText } from './document.js';

// Characters that start wiki markup; escaping them keeps command output and host names literal.
const WIKI_SPECIAL = /([\\*_+\-^~?{}[\]|!#])/g;
// Line breaks as Jira (Java's \R) reads them: in text, the next line would start block markup
// (`h1.`, `*`, `||`) or end a `[text|url]` link. Text outside a code block stays on its line.
const LINE_BREAK = /\r\n|[\n\v\f\r\u0085\u2028\u2029]/g;

function escapeWiki(text: string): string {
  return text.replace(WIKI_SPECIAL, '\\$1').replace(LINE_BREAK, ' ');
}

function inline(parts: Inline[]): string {
  return parts
    .map((given) => (given.type === 'link' ? linkOrText(given.text, given.href) : given))
    .map((p) => {
      // [~name] is Data Center's mention: it shows the user and notifies them.
      if (p.type === 'mention') return `[~${p.id.replace(/[\]\s|]/g, '')}]`;
      if (p.type === 'link')
        // The URL parser skips a line break (isSafeHref), the wiki does not: it is encoded.
        return `[${escapeWiki(p.text)}|${p.href.replace(/[|\]\s\u0085]/g, encodeURIComponent)}]`;
      if (p.code) return `{{${escapeWiki(p.text)}}}`;
      return p.bold ? `*${escapeWiki(p.text)}*` : escapeWiki(p.text);
    })
    .join('');
}

// A table cell cannot hold a line break or a raw pipe in wiki markup (escapeWiki), nor be empty.
function cellText(text: string): string {
  return escapeWiki(text) || ' ';
}

function block(b: Block): string {
  switch (b.type) {
    case 'paragraph':
      return inline(b.content);
    case 'heading':
      return `h${b.level}. ${escapeWiki(b.text)}`;
    case 'code': {
      // {code} content is literal; only a closing {code} inside it could break out.
      // Matched in any case: whether Jira's parser takes {CODE} for {code} is not documented.
      const body = b.text.replace(/\{(code)/gi, '{ $1');
      return `{code${b.language ? `:${b.language.replace(/[^\w+-]/g, '')}` : ''}}\n${body}\n{code}`;
    }
    case 'table':
      return [
        `||${b.header.map(cellText).join('||')}||`,
        ...b.rows.map((r) => `|${r.map(cellText).join('|')}|`),
      ].join('\n');
    case 'list':
      return b.items.map((i) => `${b.ordered ? '#' : '*'} ${inline(i)}`).join('\n');
  }
}

/** Render the document model as Jira wiki markup for Data Center REST v2. */
export function renderWiki(doc: Doc): string {
  return doc.blocks.map(block).join('\n\n');
}
