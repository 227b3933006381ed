/**
 * Where base64 encoders wrap their output: `base64` (GNU coreutils, BusyBox), Python's
 * `base64.encodebytes` and Perl's `encode_base64` at 76 columns, `openssl base64` and PEM at 64,
 * Ruby's `Base64.encode64` (`pack('m')`) and `uuencode -m` at 60.
 */
export const BASE64_COLUMNS = [76, 64, 60] as const;
/** `xxd -p` (a plain hex dump) wraps its output at 60 columns (30 bytes). */
export const XXD_PLAIN_COLUMNS = 60;

/** `text` cut into lines of `width` characters (the last one maybe shorter). */
export function linesOf(text: string, width: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines;
}

/**
 * `text` as an encoder that wraps at `width` columns prints it when it starts `first`
 * characters before the end of a line, for every `first` (a multiple of `step`, the encoding's
 * unit: 4 for base64, 2 for hex) that puts a line break inside it. A start at column 0 is left
 * to `linesOf`, whose lines are masked one by one.
 */
export function wrappedAtEveryShift(text: string, width: number, step: number): string[] {
  const forms: string[] = [];
  for (let first = step; first < Math.min(width, text.length); first += step)
    forms.push([text.slice(0, first), ...linesOf(text.slice(first), width)].join('\n'));
  return forms;
}

/** Where a wrapped form stands in a text: [start, end). */
export type Span = readonly [number, number];

/**
 * Finds wrapped forms (each holding a line break) in a text by the line breaks of the text: a
 * form is looked up by the two characters after its first line break, then compared whole. This
 * costs a map lookup per line of output, however many forms there are; the same forms as
 * alternatives of the masker's regular expression were tried at every character and made
 * masking 10 MB of log lines with three secrets 10 to 20 times slower (~500 ms instead of ~25).
 */
export function wrappedFormFinder(forms: readonly string[]): (text: string) => Span[] {
  const byBreak = new Map<string, { form: string; before: number }[]>();
  for (const form of [...new Set(forms)].sort((a, b) => b.length - a.length)) {
    const before = form.indexOf('\n');
    if (before < 0) continue;
    const key = form.slice(before + 1, before + 1 + KEY_LENGTH);
    const list = byBreak.get(key) ?? [];
    list.push({ form, before });
    byBreak.set(key, list);
  }
  return (text) => {
    const spans: Span[] = [];
    let end = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', Math.max(nl + 1, end))) {
      const candidates = byBreak.get(text.slice(nl + 1, nl + 1 + KEY_LENGTH));
      if (!candidates) continue;
      // Lines that end in CR LF (`certutil -encode`, MIME, a Windows host): each \n of a form
      // stands for \r\n there.
      const crlf = text.charCodeAt(nl - 1) === CR;
      // Longest first: of two forms found at one line break, the longer is masked.
      for (const { form, before } of candidates) {
        const start = nl - (crlf ? 1 : 0) - before;
        if (start < end) continue;
        const formEnd = crlf
          ? endOfCrlfForm(text, start, form)
          : text.startsWith(form, start)
            ? start + form.length
            : -1;
        if (formEnd < 0) continue;
        spans.push([start, formEnd]);
        end = formEnd;
        break;
      }
    }
    return spans;
  };
}

const CR = 0x0d;

/** Where `form` ends in `text` from `start` with each of its \n written \r\n, or -1. */
function endOfCrlfForm(text: string, start: number, form: string): number {
  let at = start;
  for (let i = 0; i < form.length; i++) {
    const unit = form.charCodeAt(i);
    if (unit === 0x0a) {
      if (text.charCodeAt(at) !== CR || text.charCodeAt(at + 1) !== 0x0a) return -1;
      at += 2;
    } else if (text.charCodeAt(at++) !== unit) return -1;
  }
  return at;
}

/** Characters after a form's first line break that it is looked up by: hex's unit, two. */
const KEY_LENGTH = 2;
