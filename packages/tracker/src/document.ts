/**
 * A small document model for ticket descriptions and comments. One model, two renderers:
 * ADF for Jira Cloud v3 (render-adf.ts) and wiki markup for Data Center v2 (render-wiki.ts);
 * the local tracker stores the model itself.
 */
export type Inline =
  /** Text both `code` and `bold` is shown as code: neither ADF nor wiki markup has both. */
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

/** Whether the document has any text to show: Jira answers 400 to a comment with none. */
export function hasText(doc: Doc): boolean {
  const some = (text: string) => /\S/.test(text);
  const inline = (parts: Inline[]) => parts.some((p) => p.type === 'mention' || some(p.text));
  return doc.blocks.some((b) => {
    switch (b.type) {
      case 'paragraph':
        return inline(b.content);
      case 'heading':
      case 'code':
        return some(b.text);
      case 'table':
        return [b.header, ...b.rows].some((r) => r.some(some));
      case 'list':
        return b.items.some(inline);
      default:
        return false;
    }
  });
}

/**
 * Jira refuses a comment or description longer than 32,767 characters. A body is kept under
 * this (measured as sent: the ADF JSON or the wiki markup), leaving room for Jira's own count.
 */
export const TRACKER_BODY_LIMIT = 30_000;

/**
 * The document, shortened until `size` of it is at most `limit`: the largest block is cut down
 * again and again (a table keeps its first rows, a code block or text its start, a list its first
 * items), each cut saying what it left out, and a closing paragraph says the body was shortened.
 * A document that fits is returned as it is.
 */
export function fitDoc(doc: Doc, size: (d: Doc) => number, limit: number): Doc {
  if (size(doc) <= limit) return doc;
  const note: Block = {
    type: 'paragraph',
    content: [
      {
        type: 'text',
        text: `This text was shortened to fit the tracker's limit of ${limit.toLocaleString('en')} characters; each cut says what it left out. opsbook keeps the whole: the run's journal (opsbook runs show) and the ticket's attachments.`,
        bold: true,
      },
    ],
  };
  const blocks = doc.blocks.map((b) => structuredClone(b));
  const sized = () => ({ blocks: [...blocks, note] });
  // Each round at least halves the largest block, so this ends; the bound is a guard.
  for (let round = 0; round < 400 && size(sized()) > limit; round++) {
    let largest = 0;
    let largestSize = -1;
    blocks.forEach((b, i) => {
      const s = size({ blocks: [b] });
      if (s > largestSize) [largest, largestSize] = [i, s];
    });
    const shrunk = shrinkBlock(blocks[largest]!);
    if (shrunk) blocks[largest] = shrunk;
    else blocks.splice(largest, 1);
  }
  return sized();
}

const count = (n: number) => n.toLocaleString('en');
const CUT_CHARS = /\u2026 \[([\d,]+) more characters cut\]$/;
const CUT_ENTRIES = /^\u2026 ([\d,]+) more (?:rows|items) cut$/;
const counted = (digits: string | undefined) => Number((digits ?? '0').replaceAll(',', ''));

/** The first `keep` characters of text, then how many were cut (counting an earlier cut). */
function cutText(text: string, keep: (length: number) => number): string {
  const earlier = CUT_CHARS.exec(text);
  const body = earlier ? text.slice(0, earlier.index) : text;
  const kept = keep(body.length);
  return `${body.slice(0, kept)}\u2026 [${count(body.length - kept + counted(earlier?.[1]))} more characters cut]`;
}

/** The first half of `entries`, then one saying how many were cut (counting an earlier cut). */
function halve<T>(
  entries: readonly T[],
  textOf: (e: T) => string,
  marker: (text: string) => T,
  noun: 'rows' | 'items',
): T[] | undefined {
  const earlier = entries.length ? CUT_ENTRIES.exec(textOf(entries.at(-1)!)) : null;
  const real = earlier ? entries.slice(0, -1) : entries;
  if (real.length <= 1) return undefined;
  const keep = Math.floor(real.length / 2);
  return [
    ...real.slice(0, keep),
    marker(`\u2026 ${count(real.length - keep + counted(earlier?.[1]))} more ${noun} cut`),
  ];
}

/** The block cut to about half its size, or undefined when nothing of it is worth keeping. */
function shrinkBlock(block: Block): Block | undefined {
  switch (block.type) {
    case 'table': {
      const filler = block.header.slice(1).map(() => '');
      const rows = halve(
        block.rows,
        (r) => r[0] ?? '',
        (text) => [text, ...filler],
        'rows',
      );
      return rows ? { ...block, rows } : undefined;
    }
    case 'list': {
      const items = halve(
        block.items,
        (item) => item.map((p) => p.text).join(''),
        (text): Inline[] => [{ type: 'text', text }],
        'items',
      );
      return items ? { ...block, items } : undefined;
    }
    case 'code':
      return block.text.length < 400
        ? undefined
        : { ...block, text: cutText(block.text, (n) => Math.floor(n / 2)) };
    case 'paragraph': {
      const content = shrinkInlines(block.content);
      return content ? { ...block, content } : undefined;
    }
    case 'heading':
      return block.text.length < 400
        ? undefined
        : { ...block, text: cutText(block.text, () => 100) };
    default:
      return undefined;
  }
}

/** Inline content cut to about half its text, or undefined when it is short already. */
function shrinkInlines(content: Inline[]): Inline[] | undefined {
  const total = content.reduce((n, p) => n + p.text.length, 0);
  if (total < 400) return undefined;
  let room = Math.floor(total / 2);
  const kept: Inline[] = [];
  for (const part of content) {
    if (room <= 0) break;
    if (part.text.length <= room) kept.push(part);
    else kept.push({ type: 'text', text: cutText(part.text, () => room) });
    room -= part.text.length;
  }
  return kept;
}
