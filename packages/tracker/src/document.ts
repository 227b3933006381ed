/**
 * A small document model for ticket descriptions and comments. One model, two renderers:
 * ADF for Jira Cloud v3 (render-adf.ts) and wiki markup for Data Center v2 (render-wiki.ts);
 * the local tracker stores the model itself.
 */
export type Inline =
  | { type: 'text'; text: string; bold?: boolean; code?: boolean }
  | { type: 'link'; text: string; href: string }
  /**
   * A person the tracker notifies: `id` is their Cloud accountId, Data Center user name or local
   * name; `text` is how to show them where the tracker cannot (plain text, the local tracker).
   */
  | { type: 'mention'; id: string; text: string };

export type Block =
  | { type: 'paragraph'; content: Inline[] }
  | { type: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; text: string }
  | { type: 'code'; text: string; language?: string }
  | { type: 'table'; header: string[]; rows: string[][] }
  | { type: 'list'; items: Inline[][]; ordered?: boolean };

export interface Doc {
  blocks: Block[];
}

/** The schemes a link may have on a ticket: a `javascript:` or `data:` URL is never one. */
const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/**
 * Whether `href` may be a ticket link: an absolute http(s) or mailto URL. Anything else (an alert's
 * `generatorURL` is whatever the sender wrote) is shown as text by the renderers, never linked.
 */
export function isSafeHref(href: string): boolean {
  try {
    return LINK_SCHEMES.has(new URL(href).protocol);
  } catch {
    return false;
  }
}

/** A link when `href` is safe (isSafeHref), else the text with the address after it, unlinked. */
export function linkOrText(text: string, href: string): Inline {
  return isSafeHref(href)
    ? { type: 'link', text, href }
    : { type: 'text', text: `${text} (${href})` };
}

/** A document of plain paragraphs, one per line group separated by blank lines. */
export function textDoc(text: string): Doc {
  const paragraphs = text
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return {
    blocks: paragraphs.map((p) => ({ type: 'paragraph', content: [{ type: 'text', text: p }] })),
  };
}

/** The document as plain text (search, local tracker listings, probes). */
export function docText(doc: Doc): string {
  const inline = (parts: Inline[]) =>
    parts.map((p) => (p.type === 'mention' ? `@${p.text}` : p.text)).join('');
  return doc.blocks
    .map((b): string => {
      switch (b.type) {
        case 'paragraph':
          return inline(b.content);
        case 'heading':
          return b.text;
        case 'code':
          return b.text;
        case 'table':
          return [b.header, ...b.rows].map((r) => r.join('\t')).join('\n');
        case 'list':
          return b.items.map((i) => `- ${inline(i)}`).join('\n');
        default:
          return '';
      }
    })
    .join('\n\n');
}
