import { escapedForms, percentEncodedForms } from './escaped-forms.js';
import { type FoldedFormFinder, foldedFormFinder } from './folded-forms.js';
import {
  type DumpContext,
  dumpHoldFrom,
  maskDumps,
  mayBeDumpLine,
  mayHoldDump,
  trailingDumpLines,
  WHOLE_TEXT,
} from './hex-dumps.js';
import { type JoinedFormFinder, joinedFormFinder } from './line-joined-forms.js';
import { literalAlternation } from './literal-alternation.js';
import { type PlainFinder, plainFinder } from './plain-finder.js';
import {
  BASE64_COLUMNS,
  linesOf,
  type Span,
  wrappedAtEveryShift,
  wrappedFormFinder,
  XXD_PLAIN_COLUMNS,
} from './wrapped-encodings.js';

export type Masker = (text: string) => string;
export const MASK = '***';

/**
 * The shortest piece of a secret masked on its own: a line of a multi-line secret, or what a
 * cut left of one. Shorter pieces (`{`, `}`, `QQ=`, a blank line) are everywhere in ordinary
 * output; masking them would hide the output, not the secret.
 */
export const MIN_SECRET_PIECE = 4;

/** Masks text that is streamed: what `push` returns can be shown at once, never half a secret. */
export interface StreamMasker {
  /** Takes the next chunk; returns the text that is now safe to show (maybe ''). */
  push(chunk: string): string;
  /** The stream ended: the rest, masked (a beginning of a secret it ends with, too). */
  end(): string;
  /**
   * The stream paused (a command printed, then waits): the lines held back, masked as `end` masks
   * them, so that they are shown now (a line not ended stays held). The stream goes on after them
   * as after a cut: a piece of a secret (4+ characters, or bytes of a dump) that the text after
   * them begins with is masked too.
   */
  flush(): string;
  /** Whether lines are held back (what `flush` would let out). */
  isHolding(): boolean;
}

/** Everything opsbook does to keep a run's secrets out of what it shows and keeps. */
export interface SecretMask {
  /** Replaces every secret, and every line of 4+ characters of a multi-line one, with `***`. */
  mask: Masker;
  /** A masker for one output stream, for masking BEFORE the stream is split into lines. */
  maskStream(): StreamMasker;
  /**
   * The last `limit` characters of a captured stream, for the journal: masked first, then cut,
   * and a piece of a secret (4+ characters) left at either edge masked too. The end is an edge as
   * well: the capture may have stopped at its limit, or the command been killed, mid-secret.
   * `alreadyCut` characters were cut before `text` (the capture keeps the end of a long output):
   * they count in the cut shown, and the start of `text` is an edge too.
   */
  maskedTail(text: string, limit: number, alreadyCut?: number): string;
}

/**
 * Masks secret values in text. A multi-line secret (a PEM key, a kubeconfig, a JSON credential)
 * is masked whole and also line by line, so that a command printing one line of it (`sed -n 2p`)
 * shows nothing of it either. Longer targets go first, so that a secret containing a shorter one
 * is masked whole, not left half visible.
 */
export function createSecretMask(secrets: readonly string[]): SecretMask {
  const { targets: plain, wrapped, inDumps } = maskTargets(secrets);
  if (plain.length === 0) {
    const same = (text: string) => text;
    return {
      mask: same,
      maskStream: () => ({ push: same, end: () => '', flush: () => '', isHolding: () => false }),
      maskedTail: (text, limit, alreadyCut = 0) => cutTail(text, limit, alreadyCut),
    };
  }
  // No `u` flag: matching code unit by code unit also masks a secret holding a lone surrogate.
  const findPlain = plainFinder(plain, literalAlternation(plain, 'g'));
  const joined = joinedFormFinder(plain);
  const folded = foldedFormFinder(plain);
  const findWrapped = withFolded(wrappedAndJoined(wrappedFormFinder(wrapped), joined), folded);
  /** Every target, for what is held back and what is masked at a cut edge: a piece of any. */
  const targets = byFirstUnits([...plain, ...wrapped].sort((a, b) => b.length - a.length));
  const holdFrom = withFoldedHold(possibleStarts(targets, joined), folded);
  // A secret of only `*`s lives inside the mask itself: repeating would only grow the text.
  const passes = plain.some((v) => MASK.includes(v)) ? 1 : plain.length + 1;
  const dumps: Dumps = {
    targets: inDumps,
    longest: Math.max(0, ...inDumps.map((t) => t.length)),
    mask: (text, context) =>
      mayHoldDump(context.before + text)
        ? maskDumps(text, inDumps, context, MIN_SECRET_PIECE)
        : text,
  };
  /** `atLineStart`: the text begins a line (in a stream, else it goes on with one let out). */
  const maskPlain = (text: string, atLineStart = true) => {
    // A form over several lines is masked line by line: the output keeps its lines.
    let masked = replaceSpans(text, findWrapped(text, atLineStart), true);
    // Another pass catches a secret that a replacement itself formed (one containing `*`);
    // bounded because each pass can only form as many as there are secrets.
    for (let pass = 0; pass < passes; pass++) {
      const next = replaceSpans(masked, allFound(masked, findPlain));
      if (next === masked) break;
      masked = next;
    }
    return masked;
  };
  const mask: Masker = (text) =>
    withLoneCrAsLineEnd(maskPlain(dumps.mask(text, WHOLE_TEXT)), (t) =>
      maskPlain(dumps.mask(t, WHOLE_TEXT)),
    );
  /**
   * mask, and wrapped lines that end the text with a piece of a form they go on with masked line
   * by line, from the start of a whole secret that overlaps them.
   */
  const maskWithPieceAtEnd = (text: string) => {
    let start = holdFrom.pieceOf?.(text, true) ?? text.length;
    if (start === text.length) return mask(text);
    const spans = wholeMatches(text, findPlain, (t) => findWrapped(t, true));
    for (let moved = true; moved; ) {
      moved = false;
      for (const [s, e] of spans)
        if (s < start && e > start) {
          start = s;
          moved = true;
        }
    }
    return mask(text.slice(0, start)) + maskByLine(text.slice(start));
  };
  return {
    mask,
    maskStream: () =>
      streamMasker(
        targets,
        holdFrom,
        (text, atLineStart) => wholeMatches(text, findPlain, (t) => findWrapped(t, atLineStart)),
        maskPlain,
        dumps,
        (text) => maskJoinedPiece(text, joined, 'start'),
      ),
    maskedTail(text, limit, alreadyCut = 0) {
      // Read with lone CRs as line ends too (withLoneCrAsLineEnd says why): a form with CR-only
      // line ends that a cut (the line splitter's, the capture's) went through has its piece at
      // the edge found as with LFs.
      return withLoneCrsAsLfs(text, (lf) => {
        // A piece of a form wrapped at any width at an edge is found in the text as it came:
        // masking first would star the lines of it that other forms (cores of its base64) fill.
        const atStart = alreadyCut > 0 ? maskJoinedPiece(lf, joined, 'start') : lf;
        const masked = maskPieceAtEnd(
          maskWithPieceAtEnd(maskJoinedPiece(atStart, joined, 'end')),
          targets,
        );
        if (masked.length <= limit && alreadyCut === 0) return masked;
        return cutTail(masked, limit, alreadyCut, (kept) => maskPieceAtStart(kept, targets));
      });
    },
  };
}

/**
 * `masked`, read again with each lone CR (`tr '\n' '\r'`, a terminal's carriage returns) as a
 * line end, so a form wrapped over lines, or a dump, with CR-only line ends is found as with LF;
 * the CRs are given back where they were (a secret masked whole over several of them leaves them
 * as LFs).
 */
function withLoneCrAsLineEnd(masked: string, maskAgain: Masker): string {
  if (!/\r(?!\n)/.test(masked)) return masked;
  const ends: string[] = [];
  const lf = masked.replace(/\r\n|\r|\n/g, (end) => {
    ends.push(end);
    return end === '\r' ? '\n' : end;
  });
  const again = maskAgain(lf);
  if (again === lf) return masked;
  const lines = again.split(/\r\n|\n/);
  if (lines.length !== ends.length + 1) return again;
  return lines.map((line, i) => line + (ends[i] ?? '')).join('');
}

/**
 * `read(text)` with the text's lone CRs given to it as LFs, and given back: counted from the end,
 * each line end of the result is the one the text had there (a cut keeps the text's end; a cut's
 * own heading line keeps its LF). Text without a lone CR is read as it is.
 */
function withLoneCrsAsLfs(text: string, read: Masker): string {
  if (!/\r(?!\n)/.test(text)) return read(text);
  const ends = text.match(/\r\n|\r|\n/g) ?? [];
  const lf = read(text.replace(/\r(?!\n)/g, '\n'));
  const lines = lf.split(/(\r\n|\n)/);
  // lines: [line, end, line, end, …, line]; the k-th end from the last is ends[ends.length - k].
  const heading = lf.startsWith('…(') && !text.startsWith('…(') ? 1 : 0;
  for (let i = lines.length - 2, k = ends.length - 1; i > heading && k >= 0; i -= 2, k--)
    lines[i] = ends[k]!;
  return lines.join('');
}

/** `createSecretMask(secrets).mask`. */
export function createMasker(secrets: readonly string[]): Masker {
  return createSecretMask(secrets).mask;
}

/**
 * The secrets, then each line of 4+ characters of each (as is, and without its indentation),
 * then their encoded forms; longest first. `wrapped`: the forms found by their line breaks.
 */
function maskTargets(secrets: readonly string[]): {
  targets: string[];
  wrapped: string[];
  inDumps: Buffer[];
} {
  const whole = secrets.filter((s) => s.length > 0);
  const lines = whole
    .flatMap((s) => s.split(/\r\n|\r|\n/))
    .flatMap((line) => [line, line.trim()])
    .filter((line) => line.length >= MIN_SECRET_PIECE);
  // A secret read from a file ends with a line break that `$(cat FILE)` or `.strip()` drops
  // before it is encoded: the encoded forms of the secret without its surrounding white space too.
  const trimmed = whole.map((s) => s.trim()).filter((s) => s.length > 0);
  const encoded = [...new Set([...whole, ...trimmed])].map(encodedForms);
  const longestFirst = (list: string[]) => [...new Set(list)].sort((a, b) => b.length - a.length);
  return {
    targets: longestFirst([
      ...whole,
      ...lines,
      ...encoded.flatMap((e) => e.plain),
      // A line escaped on its own (`jq -R .` or a loop printing `repr(line)` over a JSON
      // credential file): its quotes and backslashes escaped.
      ...lines.flatMap(escapedForms).filter((f) => f.length >= MIN_ENCODED_FORM),
    ]),
    wrapped: longestFirst(encoded.flatMap((e) => e.wrapped)),
    // A dump (`xxd`, `hexdump -C`, `od`) shows the bytes of the secret, or of a file holding it
    // (as it is, or encoded: `kubectl get secret -o jsonpath='{.data.token}' | xxd`).
    inDumps: longestFirst([
      ...whole,
      ...trimmed,
      ...lines,
      ...encoded.flatMap((e) => e.inDumps),
    ]).map((t) => Buffer.from(t, 'utf8')),
  };
}

/**
 * The shortest encoded form masked: shorter runs of base64 or escapes are common in ordinary
 * output, and a secret that short encodes to little more than its own length.
 */
const MIN_ENCODED_FORM = 8;

/**
 * The forms in which commands print a secret without being asked to: base64 (`curl -v -u
 * user:TOKEN` shows `Authorization: Basic base64(user:TOKEN)`; a key put into a Kubernetes
 * secret; `base64` wrapping at 76 columns, `openssl base64` at 64, Ruby at 60), base64url,
 * percent-encoding (a token in a URL, or `+` for spaces in a form), JSON escaping and shell,
 * Python, YAML, HTML… quoting (escaped-forms.ts). Base64 of text
 * that CONTAINS the secret holds, for one of three alignments, the base64 of the secret without
 * its first 0-2 and last 0-2 bytes: those three cores are masked, so at most the 4 characters
 * at each end of the encoded secret, carrying a byte or two of it, stay visible.
 */
function encodedForms(secret: string): EncodedForms & { inDumps: string[] } {
  const bytes = Buffer.from(secret, 'utf8');
  const base64 = bytes.toString('base64');
  const forms = [
    base64,
    base64.replace(/=+$/, ''),
    ...BASE64_COLUMNS.flatMap((width) => linesOf(base64, width)),
  ];
  const cores: string[] = [];
  for (let start = 0; start < 3; start++) {
    const whole = Math.floor((bytes.length - start) / 3) * 3;
    if (whole > 0) cores.push(bytes.subarray(start, start + whole).toString('base64'));
  }
  forms.push(...cores);
  forms.push(...forms.map((f) => f.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')));
  // `printf 'user:%s' "$TOKEN" | base64` (or `openssl base64`): a core wrapped at 76 (64)
  // columns from wherever it starts.
  const wrapped = BASE64_COLUMNS.flatMap((width) =>
    cores.flatMap((core) => wrappedAtEveryShift(core, width, 4)),
  );
  forms.push(...BASE64_COLUMNS.flatMap((width) => cores.flatMap((core) => linesOf(core, width))));
  const hex = hexForms(bytes);
  forms.push(...hex.plain);
  wrapped.push(...hex.wrapped);
  const escaped = escapedForms(secret);
  forms.push(...percentEncodedForms(secret), ...escaped);
  // In a dump, where each line of a wrapped form is found on its own: base64 (of the secret, of
  // text around it, each line of it wrapped at BASE64_COLUMNS, base64url) and escapes.
  const base64s = [base64, ...cores];
  const inDumps = [
    ...base64s,
    ...base64s.map((f) => f.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')),
    ...BASE64_COLUMNS.flatMap((width) => linesOf(base64, width)),
    ...escaped,
  ];
  const long = (f: string) => f.length >= MIN_ENCODED_FORM && f !== secret;
  return {
    plain: forms.filter(long),
    wrapped: wrapped.filter(long),
    inDumps: [...new Set(inDumps)].filter(long),
  };
}

/**
 * Encoded forms of a secret: `plain` ones are matched by the masker's regular expression;
 * `wrapped` ones hold the line breaks of an encoder that wraps its output, and are found by
 * those line breaks (`wrappedFormFinder`).
 */
interface EncodedForms {
  plain: string[];
  wrapped: string[];
}

/**
 * The hex of the secret in both cases (`xxd -p`, `xxd -p -u`, a debug print), whole and as
 * `xxd -p` wraps it: line by line when the secret starts the dump, and wrapped from every byte
 * it can start at when text comes before it. Hex of text around the secret is byte-aligned, so
 * it holds the secret's hex as it is: no cores are needed.
 */
function hexForms(bytes: Buffer): EncodedForms {
  const hex = bytes.toString('hex');
  const plain = [hex, ...linesOf(hex, XXD_PLAIN_COLUMNS)];
  const wrapped = wrappedAtEveryShift(hex, XXD_PLAIN_COLUMNS, 2);
  return {
    plain: [...plain, ...plain.map((f) => f.toUpperCase())],
    wrapped: [...wrapped, ...wrapped.map((f) => f.toUpperCase())],
  };
}

function cutTail(text: string, limit: number, alreadyCut: number, edge: Masker = (t) => t): string {
  const cut = alreadyCut + Math.max(0, text.length - limit);
  if (cut === 0) return text;
  return `…(${cut} characters cut)…\n${edge(text.length > limit ? text.slice(-limit) : text)}`;
}

/**
 * Targets longest first, and indexed by their first one, two and three code units: what can
 * begin at a character. The stream masker asks at every character it holds back; a long secret
 * (a PEM key) has a thousand or more encoded forms, most beginning with a letter or digit, so
 * one unit alone left hundreds to compare at each character of ordinary output.
 */
interface Targets {
  all: readonly string[];
  /** By the first PREFIX_UNITS[k] code units, k = 0, 1, 2; each list longest first. */
  byPrefix: readonly ReadonlyMap<number, readonly string[]>[];
  /**
   * A bit per STARTS_BITS-bit slice of the three-unit key: set when some target may begin so.
   * Most characters of ordinary output begin none: one typed-array read rules them out, before
   * any Map lookup.
   */
  starts: Uint32Array;
  longest: number;
}

const STARTS_BITS = 20;
const STARTS_MASK = (1 << STARTS_BITS) - 1;

const PREFIX_UNITS = [1, 2, 3] as const;

/**
 * The key of `length` (1-3) code units of `text` from `at`: a hash that stays a small integer.
 * An exact key (48 bits) was a double, boxed at each of the stream masker's lookups (one per
 * character held back): that allocation and the hashing of a double were most of a push's cost.
 * Two prefixes may share a key: every target listed is compared unit by unit anyway.
 */
function prefixKey(text: string, at: number, length: number): number {
  let key = 0;
  for (let j = 0; j < length; j++)
    key = (Math.imul(key, 0x9e3779b1) + text.charCodeAt(at + j)) & 0x3fffffff;
  return key;
}

function byFirstUnits(all: readonly string[]): Targets {
  const byPrefix = PREFIX_UNITS.map((units) => {
    const index = new Map<number, string[]>();
    for (const t of all) {
      if (t.length < units) continue;
      const key = prefixKey(t, 0, units);
      const list = index.get(key);
      if (list) list.push(t);
      else index.set(key, [t]);
    }
    return index;
  });
  const starts = new Uint32Array(1 << (STARTS_BITS - 5));
  for (const key of byPrefix[2]!.keys()) {
    const bit = key & STARTS_MASK;
    starts[bit >>> 5]! |= 1 << (bit & 31);
  }
  return { all, byPrefix, starts, longest: all[0]?.length ?? 0 };
}

/** `text` with each span replaced by the mask; `byLine`: each line of a span, its breaks kept. */
function replaceSpans(text: string, spans: readonly Span[], byLine = false): string {
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    const masked = byLine ? maskByLine(text.slice(start, end)) : MASK;
    out += text.slice(at, start) + masked;
    at = end;
  }
  return out + text.slice(at);
}

/**
 * Each line of `text` masked after its indentation (a YAML block scalar's lines go on indented)
 * and a label a form's lines may have (line-joined-forms.ts): a line number and its tab (`nl`,
 * `cat -n`), quote marks each followed by a space (`> `, `# `, `| `).
 */
function maskByLine(text: string): string {
  return text.replace(/([ \t]*(?:\d{1,10}\t[ \t]*|(?:[>#|] +)+)?)[^\r\n \t][^\r\n]*/g, `$1${MASK}`);
}

/**
 * The wrapped forms found by their line breaks, then the forms found across line breaks at any
 * width (line-joined-forms.ts) that overlap none of them; in order.
 */
function wrappedAndJoined(
  findWrapped: (text: string) => Span[],
  joined: JoinedFormFinder | undefined,
): (text: string, atLineStart: boolean) => Span[] {
  if (!joined) return findWrapped;
  return (text, atLineStart) => {
    const spans = findWrapped(text);
    const more = joined.find(text, atLineStart);
    if (more.length === 0) return spans;
    const free = more.filter(([s, e]) => !spans.some(([ws, we]) => s < we && ws < e));
    return [...spans, ...free].sort((a, b) => a[0] - b[0]);
  };
}

/** The spans `find` gives, then the folded forms (folded-forms.ts) that overlap none of them. */
function withFolded(
  find: (text: string, atLineStart: boolean) => Span[],
  folded: FoldedFormFinder | undefined,
): (text: string, atLineStart: boolean) => Span[] {
  if (!folded) return find;
  return (text, atLineStart) => {
    const spans = find(text, atLineStart);
    const more = folded.find(text);
    if (more.length === 0) return spans;
    const free = more.filter(([s, e]) => !spans.some(([ws, we]) => s < we && ws < e));
    return [...spans, ...free].sort((a, b) => a[0] - b[0]);
  };
}

/** `holdFrom`, and where a target folded over lines may begin that the next text goes on with. */
function withFoldedHold(
  holdFrom: PossibleStart,
  folded: FoldedFormFinder | undefined,
): PossibleStart {
  if (!folded) return holdFrom;
  const foldTargets = byFirstUnits(folded.targets);
  const startIn = (readBack: string) => startOfPossibleSecretIn(readBack, 0, foldTargets);
  const withFolds: PossibleStart = (text, from, atLineStart) => {
    const start = holdFrom(text, from, atLineStart);
    const foldedStart = folded.holdFrom(text, startIn);
    return foldedStart >= from ? Math.min(start, foldedStart) : start;
  };
  if (holdFrom.lineOf) withFolds.lineOf = holdFrom.lineOf;
  if (holdFrom.pieceOf) withFolds.pieceOf = holdFrom.pieceOf;
  return withFolds;
}

/**
 * Where a target may begin in `text` at or after `from` (text.length: nowhere): as it is, or,
 * for a target found across line breaks, with the line breaks at the end of the text taken out
 * (a later line may go on with it).
 */
interface PossibleStart {
  (text: string, from: number, atLineStart: boolean): number;
  /** Where text cut at `at` must be cut instead (JoinedFormFinder.lineStartAround). */
  lineOf?: (text: string, at: number, atLineStart: boolean) => number;
  /** Where lines ending the text begin a piece of a target across breaks (pieceAtEnd). */
  pieceOf?: (text: string, atLineStart: boolean) => number;
}

function possibleStarts(targets: Targets, joined: JoinedFormFinder | undefined): PossibleStart {
  if (!joined) return (text, from) => startOfPossibleSecret(text, from, targets);
  const joinTargets = byFirstUnits(joined.targets);
  const startIn = (text: string) => startOfPossibleSecretIn(text, 0, joinTargets);
  // The line a target found across breaks may begin on is held whole, even before `from` (a
  // whole match there is then held with it: safeCut).
  const holdFrom: PossibleStart = (text, from, atLineStart) =>
    Math.min(
      startOfPossibleSecret(text, from, targets),
      joined.holdFrom(text, atLineStart, startIn),
    );
  holdFrom.lineOf = joined.lineStartAround;
  holdFrom.pieceOf = (text, atLineStart) => joined.pieceAtEnd(text, atLineStart, startIn);
  return holdFrom;
}

/** Where whole targets stand in `text`: wrapped forms, then what the pattern finds around them. */
function wholeMatches(
  text: string,
  findPlain: PlainFinder,
  findWrapped: (text: string) => Span[],
): Span[] {
  const spans = findWrapped(text);
  spans.push(...allFound(text, findPlain));
  return spans.sort((a, b) => a[0] - b[0]);
}

/**
 * Every plain target in `text`, left to right, each search going on from the end of the last
 * (as a global pattern's `replace` takes them). Not `matchAll`: it clones the pattern at each
 * call, and for a long secret (a PEM key's forms make a pattern of ~100,000 characters) that
 * clone cost more than the search, at every chunk the stream masker takes.
 */
function allFound(text: string, findPlain: PlainFinder): Span[] {
  const spans: Span[] = [];
  for (let s = findPlain(text, 0); s !== undefined; s = findPlain(text, s[1])) spans.push(s);
  return spans;
}

/** The secrets' bytes as dumps show them (hex-dumps.ts), and masking them in a text. */
interface Dumps {
  targets: readonly Buffer[];
  /** The longest target, in bytes. */
  longest: number;
  mask(text: string, context: DumpContext): string;
}

/**
 * Holds back the end of the text received so far only while it could be the beginning of a
 * secret, and the last lines of a hex dump until enough of the dump follows them to see a
 * secret on them whole; everything before is masked and let out. What it lets out, put
 * together, is what masking the whole output at once gives (for secrets without `*`): no match
 * is split, and the dump lines let out are masked knowing the lines around them.
 */
function streamMasker(
  targets: Targets,
  holdFrom: PossibleStart,
  matches: (text: string, atLineStart: boolean) => Span[],
  maskPlain: (text: string, atLineStart: boolean) => string,
  dumps: Dumps,
  joinedPieceAtStart: Masker,
): StreamMasker {
  let pending = '';
  /** The text let out next goes on from a pause (`flush`): its start is an edge, as a cut's. */
  let afterPause = false;
  /**
   * The end of the wrapped lines the output came with up to its last line end (wrappedLineTrail),
   * and what it was at the last pause: lines after a pause that go on with them are read with them
   * (a form wrapped at 2 columns, printed a line a pause: each line alone is too short to tell).
   */
  const trail = wrappedLineTrail();
  let trailAtPause = '';
  /**
   * A pause came, or lines were starred as going on with the trail, since the last text let out
   * otherwise: the next lines are read with the trail (only then: each such read is a scan of the
   * targets, too costly at every chunk of a long output).
   */
  let goesOnTrail = false;
  /** The dump lines last let out, and whether they begin their run. */
  let shown = { lines: '', isStart: true };
  /** What was let out ended a line (or nothing was): `pending` begins one. */
  let atLineStart = true;
  /**
   * After a pause, the text held until it can be no longer a piece ending a target (it is in none,
   * or where it is, the target ends with it), then that piece masked: as at a cut's edge. A form
   * wrapped at any width is found in the text as it came (maskedTail says why).
   */
  const maskAfterPause = (text: string): string => {
    afterPause = false;
    // A whole secret is masked whole as anywhere: its beginning read as the end of it (a secret
    // that ends with its own beginning, `k3y/Sec+k3y/Sec+`) would leave the rest shown.
    if (targets.all.some((t) => text.startsWith(t))) return text;
    const afterCut = maskPieceAtStart(joinedPieceAtStart(text), targets);
    if (afterCut !== text) return afterCut;
    // Else wrapped lines from the middle of a form (`xxd -p -c 5`: lines 3-4 after a pause, then
    // other output): starred line by line; they neither begin nor end a target.
    const withTrail = linesInsideTarget(text, targets, trailAtPause);
    const inside = Math.max(withTrail, linesInsideTarget(text, targets));
    if (withTrail > 0 && withTrail === text.length) goesOnTrail = true;
    return inside > 0 ? maskByLine(text.slice(0, inside)) + text.slice(inside) : text;
  };
  const letOut = (out: string, after: string, afterIsEnd: boolean, clean: boolean) => {
    const lineStart = atLineStart;
    atLineStart = out.endsWith('\n');
    if (dumps.targets.length === 0) return clean ? out : maskPlain(out, lineStart);
    const context = {
      before: shown.lines,
      beforeIsStart: shown.isStart,
      after,
      afterIsEnd,
      midLine: !lineStart,
    };
    const dumped = dumps.mask(out, context);
    shown = trailingDumpLines(
      shown.lines + out,
      dumps.longest,
      shown.lines === '' || shown.isStart,
    );
    return dumped === out && clean ? out : maskPlain(dumped, lineStart);
  };
  const stream: StreamMasker = {
    push(chunk) {
      // Lines that go on with the wrapped lines let out before them (a pause after each line of
      // `base64 -w 2 | nl` lets each out alone): starred, once they join 8+ characters inside a
      // target with them.
      const before = goesOnTrail && pending === '' && atLineStart ? trail.run() : '';
      goesOnTrail = false;
      trail.take(chunk);
      pending += chunk;
      const inside = before === '' ? 0 : linesInsideTarget(pending, targets, before);
      // Too few characters yet to tell (`base64 -w 2`'s second line after a pause): read the next
      // lines with the trail too.
      goesOnTrail = before !== '' && inside === 0 && isShortOfForm(pending, before);
      if (inside > 0) {
        goesOnTrail = inside === pending.length;
        const starred = maskByLine(pending.slice(0, inside));
        pending = pending.slice(inside);
        return starred + (pending === '' ? '' : stream.push(''));
      }
      if (afterPause) {
        if (mayGoOnEnding(pending, targets)) return '';
        pending = maskAfterPause(pending);
      }
      let limit =
        dumps.targets.length > 0
          ? dumpHoldFrom(pending, dumps.longest, atLineStart)
          : pending.length;
      let { cut, clean } = safeCut(pending, atLineStart, holdFrom, matches, limit);
      // A dump line is masked whole or not at all: never cut inside one.
      for (let start = dumpLineAround(pending, cut, dumps, atLineStart); start < cut; ) {
        limit = start;
        ({ cut, clean } = safeCut(pending, atLineStart, holdFrom, matches, limit));
        start = dumpLineAround(pending, cut, dumps, atLineStart);
      }
      const out = pending.slice(0, cut);
      pending = pending.slice(cut);
      // No whole target begins before the cut: masking what is let out would find none either
      // (a match in it would be one in `pending`, or lie after one that began before the cut).
      return out === '' ? '' : letOut(out, pending, false, clean);
    },
    end() {
      // The last line, not ended, going on with the wrapped lines let out before it.
      const isLastLineInside =
        atLineStart &&
        !pending.includes('\n') &&
        linesInsideTarget(`${pending}\n`, targets, trail.run()) > 0;
      if (isLastLineInside) {
        const last = maskByLine(pending);
        pending = '';
        afterPause = false;
        return last;
      }
      if (afterPause) pending = maskAfterPause(pending);
      return release();
    },
    flush() {
      // Only the lines that ended: the live output shows a line once it ends, and a line cut
      // here would go on after the pause unread (a dump line's last bytes, a secret's end).
      const lineEnd = pending.lastIndexOf('\n') + 1;
      if (lineEnd === 0) return '';
      if (afterPause) {
        // Lines held since the last pause that are all inside a target, short of its end (the
        // middle lines of `base64 -w 12`, printed a line a pause): a piece of the secret
        // between two pauses, starred line by line; the text after them is still after a cut.
        const lines = pending.slice(0, lineEnd);
        if (
          isInsideTarget(lines, targets) ||
          linesInsideTarget(lines, targets, trailAtPause) === lines.length
        ) {
          pending = pending.slice(lineEnd);
          atLineStart = true;
          trailAtPause = trail.run();
          goesOnTrail = true;
          return maskByLine(lines);
        }
        pending = maskAfterPause(pending);
      }
      const rest = pending.slice(pending.lastIndexOf('\n') + 1);
      pending = pending.slice(0, pending.length - rest.length);
      const out = release();
      pending = rest;
      // A dump going on after the pause is masked knowing the lines shown before it (`shown`);
      // other text is read as after a cut.
      afterPause = true;
      trailAtPause = trail.run();
      goesOnTrail = true;
      return out;
    },
    isHolding: () => pending.includes('\n'),
  };
  return stream;

  /** What is held back, masked as the end of the output. */
  function release(): string {
    const out = pending;
    pending = '';
    const pieceOfForm = holdFrom.pieceOf?.(out, atLineStart) ?? out.length;
    // It holds the last lines of a dump: masked as the end of the output, and a beginning of a
    // secret it ends with as well; wrapped lines that end it with a piece of a form (a pause
    // right after the first line of `base64 -w 12`, printed after a dump) starred line by line.
    if (dumps.targets.length > 0 && mayHoldDump(shown.lines + out)) {
      // (Not a dump's own lines: those have columns, a wrapped form's lines have none.)
      if (
        pieceOfForm === out.length ||
        /\S[ \t]+\S/.test(out.slice(out.lastIndexOf('\n', pieceOfForm - 1) + 1))
      )
        return maskPieceAtEnd(letOut(out, '', true, false), targets);
      const form = widenedToWhole(out, pieceOfForm, matches(out, atLineStart));
      return (
        (form > 0 ? letOut(out.slice(0, form), '', true, false) : '') + maskByLine(out.slice(form))
      );
    }
    // From where a secret may begin, what is held back is a piece of one if shown whole. What
    // comes before it (a line held as it might have become a wrapped line) is masked as any
    // output, up to a whole secret that a beginning overlaps: that is masked with the rest.
    // Or from the first of wrapped lines that end it with a piece of a form they go on with.
    let start = Math.min(startOfPossibleSecret(out, 0, targets), pieceOfForm);
    const spans = matches(out, atLineStart);
    for (let moved = true; moved; ) {
      moved = false;
      for (const [s, e] of spans)
        if (s < start && e > start) {
          start = s;
          moved = true;
        }
    }
    const rest = out.slice(start);
    const restShown = rest.length >= MIN_SECRET_PIECE ? maskByLine(rest) : rest;
    return start === 0 ? restShown : letOut(out.slice(0, start), '', true, false) + restShown;
  }
}

/**
 * Whether `text` stands inside a target short of its end: more of the output may make it a longer
 * piece ending that target. Only asked of the text that follows a pause.
 */
function mayGoOnEnding(text: string, { all: targets }: Targets): boolean {
  // The lines of a wrapped form (line-joined-forms.ts) go on over breaks: read without them.
  const joined = text.includes('\n') ? text.replace(/\r?\n[ \t]*/g, '') : text;
  for (const t of targets) {
    if (t.length <= joined.length) break;
    const at = t.indexOf(joined);
    if (at >= 0 && at + joined.length < t.length) return true;
  }
  return false;
}

/**
 * A wrapped line: a piece of a form without blanks, after an indentation and a label (maskByLine).
 */
const WRAPPED_LINE = /^[ \t]*(?:\d{1,10}\t[ \t]*|(?:[>#|] +)+)?(\S+)\r?$/;

/**
 * The last characters (MIN_ENCODED_FORM - 1 at most: the rest is never needed) of the run of
 * wrapped lines that a stream's output ends with at its last line end, joined without their
 * labels; '' when the last line is no wrapped line. Bounded: a line is kept only while it can
 * still be a wrapped line of some length, its joined end only 7 characters.
 */
function wrappedLineTrail(): { take(chunk: string): void; run(): string } {
  const keep = MIN_ENCODED_FORM - 1;
  /** A longer line is no wrapped line to read across pauses (a form so wide is masked whole). */
  const widest = 4096;
  let run = '';
  let line = '';
  let isWide = false;
  return {
    take(chunk) {
      let at = 0;
      for (let end = chunk.indexOf('\n'); end >= 0; at = end + 1, end = chunk.indexOf('\n', at)) {
        const whole = isWide || end - at + line.length > widest ? '' : line + chunk.slice(at, end);
        const piece = WRAPPED_LINE.exec(whole)?.[1];
        run = piece === undefined ? '' : (run + piece).slice(-keep);
        line = '';
        isWide = false;
      }
      if (isWide) return;
      line += chunk.slice(at);
      if (line.length > widest) {
        line = '';
        isWide = true;
      }
    },
    run: () => run,
  };
}

/**
 * Whether `text` is whole wrapped lines that, joined after `before`, are still shorter than an
 * encoded form masked (MIN_ENCODED_FORM): whether they go on with a form is not known yet.
 */
function isShortOfForm(text: string, before: string): boolean {
  if (!text.endsWith('\n')) return false;
  let length = before.length;
  for (const line of text.slice(0, -1).split('\n')) {
    length += WRAPPED_LINE.exec(line)?.[1]?.length ?? MIN_ENCODED_FORM;
    if (length >= MIN_ENCODED_FORM) return false;
  }
  return true;
}

/**
 * The end of the longest run of whole lines beginning `text` that are wrapped lines (WRAPPED_LINE)
 * and, joined after `before` (the wrapped lines shown before a pause), 8 characters or more inside
 * a target (MIN_ENCODED_FORM: shorter runs of them are in ordinary output); 0 if none.
 */
function linesInsideTarget(text: string, { all: targets, longest }: Targets, before = ''): number {
  let found = 0;
  let joined = before;
  for (let start = 0; start < text.length && joined.length < longest; ) {
    const end = text.indexOf('\n', start);
    if (end < 0) break;
    const line = WRAPPED_LINE.exec(text.slice(start, end));
    if (!line) break;
    joined += line[1];
    if (joined.length >= MIN_ENCODED_FORM) {
      // Inside none: no longer run of them is either.
      if (!targets.some((t) => t.length >= joined.length && t.includes(joined))) break;
      found = end + 1;
    }
    start = end + 1;
  }
  return found;
}

/** `start`, moved back to the start of a whole secret (`spans`) that overlaps it. */
function widenedToWhole(text: string, start: number, spans: Span[]): number {
  for (let moved = true; moved; ) {
    moved = false;
    for (const [s, e] of spans)
      if (s < start && e > start) {
        start = s;
        moved = true;
      }
  }
  return Math.min(start, text.length);
}

/**
 * Whether `text` (4+ characters, line breaks left out) is a piece of a target that neither ends
 * it: the middle of a secret's form, as a pause on each side leaves it.
 */
function isInsideTarget(text: string, targets: Targets): boolean {
  const joined = text.replace(/\r?\n[ \t]*/g, '');
  return joined.length >= MIN_SECRET_PIECE && mayGoOnEnding(text, targets);
}

/** The start of the line `at` is inside, if that line may be a dump line; else `at`. */
function dumpLineAround(text: string, at: number, dumps: Dumps, atLineStart: boolean): number {
  if (dumps.targets.length === 0) return at;
  const start = text.lastIndexOf('\n', at - 1) + 1;
  if (start === at || (start === 0 && !atLineStart)) return at;
  const end = text.indexOf('\n', at);
  return mayBeDumpLine(text.slice(start, end < 0 ? text.length : end)) ? start : at;
}

/**
 * Where `text` can be cut, at or before `limit`, so that no secret, whole or begun, crosses the
 * cut; `clean`: no whole secret begins before it (what is let out needs no masking).
 */
function safeCut(
  text: string,
  atLineStart: boolean,
  holdFrom: PossibleStart,
  matches: (text: string, atLineStart: boolean) => Span[],
  limit: number,
): { cut: number; clean: boolean } {
  let cut = Math.min(holdFrom(text, 0, atLineStart), limit);
  let clean = true;
  const spans = matches(text, atLineStart);
  for (const [start, end] of spans) {
    if (start >= cut) break;
    clean = false;
    // A whole secret crosses the cut: let it out masked, and hold back from after it.
    if (end > cut) cut = Math.min(holdFrom(text, end, atLineStart), limit);
  }
  // Held back for a dump from a line that a whole secret crosses: hold back from its start. And
  // never from inside a line that may be a wrapped line (holdFrom.lineOf): from its start.
  for (let moved = cut < text.length; moved; ) {
    moved = false;
    for (const [start, end] of spans)
      if (start < cut && end > cut) {
        cut = start;
        moved = true;
      }
    const line = holdFrom.lineOf?.(text, cut, atLineStart) ?? cut;
    if (line < cut) {
      cut = line;
      moved = true;
    }
  }
  return { cut, clean };
}

/**
 * The first index >= `from` where the rest of `text` begins some target (text.length if none).
 * Where the text's lines end in CR LF, a target's \n is read as \r\n (and a CR that ends the text
 * as the start of one): the end of the text is read with CR LF made LF, and the index mapped back.
 */
function startOfPossibleSecret(text: string, from: number, targets: Targets): number {
  const start = Math.max(from, text.length - 2 * targets.longest);
  const crlf = text.indexOf('\r\n', start);
  if (crlf < 0 && text.charCodeAt(text.length - 1) !== 0x0d)
    return startOfPossibleSecretIn(text, from, targets);
  let lf = '';
  const rawAt: number[] = [];
  for (let i = start; i < text.length; i++) {
    const unit = text[i]!;
    if (unit === '\r' && (text[i + 1] === '\n' || i === text.length - 1)) {
      if (i === text.length - 1) {
        lf += '\n';
        rawAt.push(i);
      }
      continue;
    }
    lf += unit;
    rawAt.push(i);
  }
  const found = startOfPossibleSecretIn(lf, 0, targets);
  return found === lf.length ? text.length : rawAt[found]!;
}

function startOfPossibleSecretIn(text: string, from: number, targets: Targets): number {
  // Text cut inside a character may be a whole secret's length and still only its beginning.
  const cut = endsCut(text) ? 1 : 0;
  for (let i = Math.max(from, text.length - targets.longest + 1 - cut); i < text.length; i++) {
    const rest = text.length - i;
    // Only the U+FFFD of a cut is left: it may stand for the first character of any target.
    if (rest === cut) return i;
    // The targets that begin with what is here (up to three units; a cut's U+FFFD not among them).
    const units = Math.min(rest - cut, PREFIX_UNITS.length);
    const key = prefixKey(text, i, units);
    if (units === 3) {
      const bit = key & STARTS_MASK;
      if ((targets.starts[bit >>> 5]! & (1 << (bit & 31))) === 0) continue;
    }
    const listed = targets.byPrefix[units - 1]!.get(key);
    if (listed === undefined) continue;
    for (let k = 0; k < listed.length; k++) {
      const t = listed[k]!;
      // Sorted longest first: the rest are no longer than `rest`.
      if (t.length + cut <= rest) break;
      if (isSameUpToCut(text, i, t, 0, rest)) return i;
    }
  }
  return text.length;
}

/**
 * Masks, line by line, the piece of a form wrapped at any width (line-joined-forms.ts) that
 * begins or ends `text`: what a cut, or a capture that stopped, left of one over several lines.
 */
function maskJoinedPiece(
  text: string,
  joined: JoinedFormFinder | undefined,
  edge: 'start' | 'end',
): string {
  const piece = joined?.pieceAt(text, edge);
  return piece ? replaceSpans(text, [piece], true) : text;
}

/** Masks the longest beginning (4+ characters) of a target that ends `text`. */
function maskPieceAtEnd(text: string, { all: targets }: Targets): string {
  let longest = MIN_SECRET_PIECE - 1;
  const cut = endsCut(text) ? 1 : 0;
  for (const t of targets) {
    // At least 4 characters of the secret itself, besides the U+FFFD of a cut.
    for (
      let k = Math.min(t.length - 1 + cut, text.length);
      k - cut >= MIN_SECRET_PIECE && k > longest;
      k--
    )
      if (isSameUpToCut(text, text.length - k, t, 0, k)) longest = k;
  }
  return longest < MIN_SECRET_PIECE ? text : text.slice(0, -longest) + MASK;
}

/** Masks the longest ending (4+ characters) of a target that begins `text`. */
function maskPieceAtStart(text: string, { all: targets }: Targets): string {
  let longest = MIN_SECRET_PIECE - 1;
  for (const t of targets) {
    for (let k = Math.min(t.length - 1, text.length); k > longest; k--)
      if (isSameAt(text, 0, t, t.length - k, k)) longest = k;
  }
  return longest < MIN_SECRET_PIECE ? text : MASK + text.slice(longest);
}

/**
 * isSameAt for a piece that ends `a`, where output that stopped inside a character ends in one
 * U+FFFD (the decoder's stand-in for the bytes it got of it): that last U+FFFD matches whatever
 * the secret holds there, so `head -c` through a secret's last character still leaves its
 * beginning masked.
 */
function isSameUpToCut(a: string, aStart: number, b: string, bStart: number, length: number) {
  const cut = aStart + length === a.length && endsCut(a) ? 1 : 0;
  return isSameAt(a, aStart, b, bStart, length - cut);
}

const REPLACEMENT = 0xfffd;

function endsCut(text: string): boolean {
  return text.charCodeAt(text.length - 1) === REPLACEMENT;
}

/** a[aStart..aStart+length) === b[bStart..bStart+length), without copying either. */
function isSameAt(a: string, aStart: number, b: string, bStart: number, length: number): boolean {
  for (let j = 0; j < length; j++)
    if (a.charCodeAt(aStart + j) !== b.charCodeAt(bStart + j)) return false;
  return true;
}
