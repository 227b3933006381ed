import { type Block, type Doc, type Inline, linkOrText } from './document.js';

/** An Atlassian Document Format node (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/). */
export interface AdfNode {
  type: string;
  version?: 1;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}

// ADF rejects empty text nodes, so empty strings become no node at all.
function textNodes(parts: Inline[]): AdfNode[] {
  const nodes: AdfNode[] = [];
  for (const given of parts) {
    // A link whose address could run code in the reader's browser is shown as text.
    const part = given.type === 'link' ? linkOrText(given.text, given.href) : given;
    if (part.type === 'mention') {
      // Jira shows the person's current name and notifies them; `text` is the fallback label.
      nodes.push({ type: 'mention', attrs: { id: part.id, text: `@${part.text}` } });
      continue;
    }
    if (part.text === '') continue;
    const lines = part.text.split('\n');
    lines.forEach((line, i) => {
      if (i > 0) nodes.push({ type: 'hardBreak' });
      if (line === '') return;
      const marks: AdfNode['marks'] = [];
      if (part.type === 'link') marks.push({ type: 'link', attrs: { href: part.href } });
      // ADF's code mark goes with a link alone (code_inline_node): Jira refuses the document
      // with code and strong on one text. Code wins, as in wiki markup.
      if (part.type === 'text' && part.code) marks.push({ type: 'code' });
      else if (part.type === 'text' && part.bold) marks.push({ type: 'strong' });
      nodes.push(marks.length ? { type: 'text', text: line, marks } : { type: 'text', text: line });
    });
  }
  return nodes;
}

function paragraph(parts: Inline[]): AdfNode {
  const content = textNodes(parts);
  return content.length ? { type: 'paragraph', content } : { type: 'paragraph' };
}

function cell(kind: 'tableHeader' | 'tableCell', text: string): AdfNode {
  return { type: kind, content: [paragraph([{ type: 'text', text }])] };
}

function block(b: Block): AdfNode {
  switch (b.type) {
    case 'paragraph':
      return paragraph(b.content);
    case 'heading':
      return {
        type: 'heading',
        attrs: { level: b.level },
        content: textNodes([{ type: 'text', text: b.text }]),
      };
    case 'code': {
      const attrs = b.language ? { language: b.language } : {};
      return b.text === ''
        ? { type: 'codeBlock', attrs }
        : { type: 'codeBlock', attrs, content: [{ type: 'text', text: b.text }] };
    }
    case 'table':
      return {
        type: 'table',
        content: [
          { type: 'tableRow', content: b.header.map((h) => cell('tableHeader', h)) },
          ...b.rows.map((r) => ({ type: 'tableRow', content: r.map((c) => cell('tableCell', c)) })),
        ],
      };
    case 'list':
      return {
        type: b.ordered ? 'orderedList' : 'bulletList',
        content: b.items.map((item) => ({ type: 'listItem', content: [paragraph(item)] })),
      };
  }
}

/** Render the document model as an ADF `doc` for Jira Cloud REST v3. */
export function renderAdf(doc: Doc): AdfNode {
  const content = doc.blocks.map(block);
  return { type: 'doc', version: 1, content: content.length ? content : [{ type: 'paragraph' }] };
}
