import type { JiraFlavour } from './jira-connection.js';
import type { TicketComment } from './tracker.js';

type Json = Record<string, unknown>;

/** ADF nodes that end a line of text when read as plain text. */
const BLOCKS = new Set([
  'paragraph',
  'heading',
  'codeBlock',
  'listItem',
  'blockquote',
  'rule',
  'blockCard',
  'embedCard',
]);

/**
 * An ADF document's words: text nodes, and the words of the inline nodes people's comments
 * carry (mentions, emoji, smart links, status lozenges, dates), each block on its own line.
 */
export function adfText(node: unknown): string {
  const out: string[] = [];
  const walk = (n: unknown, depth: number) => {
    if (!n || typeof n !== 'object' || depth > 64) return;
    const { type, text, attrs, content } = n as Json;
    if (type === 'text' && typeof text === 'string') out.push(text);
    else if (type === 'hardBreak') out.push('\n');
    else if (typeof type === 'string') out.push(inlineWords(type, (attrs ?? {}) as Json));
    if (Array.isArray(content)) for (const c of content) walk(c, depth + 1);
    if (typeof type === 'string' && BLOCKS.has(type)) out.push('\n');
  };
  walk(node, 0);
  return out
    .join('')
    .replace(/\n{2,}/g, '\n')
    .trim();
}

/** The words an inline node shows (its `attrs`, as the ADF schema has them); empty for others. */
function inlineWords(type: string, attrs: Json): string {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (type) {
    case 'mention':
      return str(attrs.text) || (str(attrs.id) && `@${str(attrs.id)}`);
    case 'emoji':
      return str(attrs.text) || str(attrs.shortName);
    case 'status':
      return str(attrs.text);
    case 'inlineCard':
    case 'blockCard':
    case 'embedCard':
      return str(attrs.url);
    case 'date': {
      // A day, as milliseconds since the epoch in a string (UTC midnight).
      const ms = Number(str(attrs.timestamp));
      // Past ±8.64e15 ms a Date is invalid (toISOString would throw): left out then.
      return str(attrs.timestamp) !== '' && Math.abs(ms) <= 8.64e15
        ? new Date(ms).toISOString().slice(0, 10)
        : '';
    }
    default:
      return '';
  }
}

/** What renderWiki writes around code blocks: their text is kept as it is. */
const WIKI_CODE = /(\{code[^}]*\}[\s\S]*?\{code\})/;

/** Wiki markup (Data Center) as its words: escapes undone and `{{monospace}}` marks dropped, outside code blocks. */
export function wikiText(markup: string): string {
  return markup
    .split(WIKI_CODE)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\{\{|\}\}/g, '').replace(/\\(.)/g, '$1')))
    .join('');
}

/** A Comment bean of Jira (Cloud: ADF body; Data Center: wiki markup) as a TicketComment. */
export function commentFromJira(raw: unknown, flavour: JiraFlavour): TicketComment {
  const c = (raw && typeof raw === 'object' ? raw : {}) as Json;
  const author = (c.author ?? {}) as Json;
  const id = flavour === 'cloud' ? author.accountId : (author.name ?? author.key);
  return {
    id: String(c.id ?? ''),
    author: typeof id === 'string' ? id : null,
    created: typeof c.created === 'string' ? c.created : '',
    text: typeof c.body === 'string' ? wikiText(c.body) : adfText(c.body),
  };
}
