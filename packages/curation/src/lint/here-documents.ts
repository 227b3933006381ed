import { shellContexts } from '@opsbook/schema';

/** A here-document: its operator (`<<EOF`, `<<-'EOF'`) and its body, the command's stdin. */
export interface HereDocument {
  /** Where the operator starts and where its delimiter word ends. */
  at: number;
  end: number;
  /** The body's lines, without the delimiter's line (`bodyStart === bodyEnd` when empty). */
  bodyStart: number;
  bodyEnd: number;
  /** An unquoted delimiter: the shell expands `$X` and runs `$(…)` in the body. */
  expands: boolean;
}

/** The here-documents of `text`, in order; one whose body has no end is read to the end. */
export function hereDocuments(text: string): HereDocument[] {
  const kept = cache.get(text);
  if (kept) return kept;
  const docs = readHereDocuments(text);
  if (cache.size >= 16) cache.delete(cache.keys().next().value!);
  cache.set(text, docs);
  return docs;
}
const cache = new Map<string, HereDocument[]>();

function readHereDocuments(text: string): HereDocument[] {
  if (!/<<(?!<)/.test(text)) return [];
  const contexts = shellContexts(text);
  const docs: HereDocument[] = [];
  const pending: {
    at: number;
    end: number;
    delimiterAt: number;
    delimiter: string;
    stripsTabs: boolean;
  }[] = [];
  for (let i = 0; i < text.length; i++) {
    if (contexts.contextAt(i) !== 'code') continue;
    if (text[i] === '\n' && pending.length) {
      let line = i + 1;
      for (const op of pending.splice(0)) {
        const bodyStart = line;
        let bodyEnd = text.length;
        while (line < text.length) {
          const nl = text.indexOf('\n', line);
          const stop = nl < 0 ? text.length : nl;
          const content = text.slice(line, stop);
          const isEnd = (op.stripsTabs ? content.replace(/^\t+/, '') : content) === op.delimiter;
          if (isEnd) bodyEnd = line;
          line = stop + 1;
          if (isEnd) break;
        }
        docs.push({
          at: op.at,
          end: op.end,
          bodyStart,
          bodyEnd,
          expands: !/['"\\]/.test(text.slice(op.delimiterAt, op.end)),
        });
      }
      i = line - 1;
      continue;
    }
    if (text[i] !== '<' || text[i + 1] !== '<' || text[i + 2] === '<' || text[i - 1] === '<')
      continue;
    let j = i + 2;
    const stripsTabs = text[j] === '-';
    if (stripsTabs) j++;
    while (text[j] === ' ' || text[j] === '\t') j++;
    const start = j;
    while (j < text.length && !/[\s;&|<>()]/.test(text[j]!)) {
      const q = text[j];
      const close = q === "'" || q === '"' ? text.indexOf(q, j + 1) : j;
      j = close < 0 ? text.length : close + 1;
    }
    if (j === start) continue;
    pending.push({
      at: i,
      end: j,
      delimiterAt: start,
      delimiter: text.slice(start, j).replace(/['"\\]/g, ''),
      stripsTabs,
    });
    i = j - 1;
  }
  return docs;
}
