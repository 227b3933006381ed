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
  const targets = maskTargets(secrets);
  if (targets.length === 0) {
    const same = (text: string) => text;
    return {
      mask: same,
      maskStream: () => ({ push: same, end: () => '' }),
      maskedTail: (text, limit, alreadyCut = 0) => cutTail(text, limit, alreadyCut),
    };
  }
  // No `u` flag: matching code unit by code unit also masks a secret holding a lone surrogate.
  const pattern = new RegExp(targets.map(escapeRegExp).join('|'), 'g');
  // A secret of only `*`s lives inside the mask itself: repeating would only grow the text.
  const passes = targets.some((v) => MASK.includes(v)) ? 1 : targets.length + 1;
  const mask: Masker = (text) => {
    let masked = text;
    // Another pass catches a secret that a replacement itself formed (one containing `*`);
    // bounded because each pass can only form as many as there are secrets.
    for (let pass = 0; pass < passes; pass++) {
      const next = masked.replace(pattern, MASK);
      if (next === masked) break;
      masked = next;
    }
    return masked;
  };
  return {
    mask,
    maskStream: () => streamMasker(targets, pattern, mask),
    maskedTail(text, limit, alreadyCut = 0) {
      const masked = maskPieceAtEnd(mask(text), targets);
      if (masked.length <= limit && alreadyCut === 0) return masked;
      return cutTail(masked, limit, alreadyCut, (kept) => maskPieceAtStart(kept, targets));
    },
  };
}

/** `createSecretMask(secrets).mask`. */
export function createMasker(secrets: readonly string[]): Masker {
  return createSecretMask(secrets).mask;
}

/** The secrets, then each line of 4+ characters of each (as is, and without its indentation). */
function maskTargets(secrets: readonly string[]): string[] {
  const whole = secrets.filter((s) => s.length > 0);
  const lines = whole
    .flatMap((s) => s.split(/\r\n|\r|\n/))
    .flatMap((line) => [line, line.trim()])
    .filter((line) => line.length >= MIN_SECRET_PIECE);
  const encoded = whole.flatMap(encodedForms);
  return [...new Set([...whole, ...lines, ...encoded])].sort((a, b) => b.length - a.length);
}

/**
 * The shortest encoded form masked: shorter runs of base64 or escapes are common in ordinary
 * output, and a secret that short encodes to little more than its own length.
 */
const MIN_ENCODED_FORM = 8;

/**
 * The forms in which commands print a secret without being asked to: base64 (`curl -v -u
 * user:TOKEN` shows `Authorization: Basic base64(user:TOKEN)`; a key put into a Kubernetes
 * secret; `base64` wrapping at 76 columns), base64url, percent-encoding (a token in a URL, or
 * `+` for spaces in a form), JSON escaping (`jq`, an API's echo of a request) and the quoting
 * of a shell trace (`set -x`). Base64 of text
 * that CONTAINS the secret holds, for one of three alignments, the base64 of the secret without
 * its first 0-2 and last 0-2 bytes: those three cores are masked, so at most the 4 characters
 * at each end of the encoded secret, carrying a byte or two of it, stay visible.
 */
function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const base64 = bytes.toString('base64');
  const forms = [base64, base64.replace(/=+$/, ''), ...base64.split(/(.{76})/).filter(Boolean)];
  for (let start = 0; start < 3; start++) {
    const whole = Math.floor((bytes.length - start) / 3) * 3;
    if (whole > 0) forms.push(bytes.subarray(start, start + whole).toString('base64'));
  }
  forms.push(...forms.map((f) => f.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')));
  const uri = encodeURIComponent(secret);
  forms.push(uri, uri.replaceAll('%20', '+'), JSON.stringify(secret).slice(1, -1));
  // A shell trace (`set -x`) quotes a value: bash writes a ' in it as '\'', busybox as '"'"'.
  if (secret.includes("'"))
    forms.push(secret.replaceAll("'", "'\\''"), secret.replaceAll("'", `'"'"'`));
  return forms.filter((f) => f.length >= MIN_ENCODED_FORM && f !== secret);
}

function cutTail(text: string, limit: number, alreadyCut: number, edge: Masker = (t) => t): string {
  const cut = alreadyCut + Math.max(0, text.length - limit);
  if (cut === 0) return text;
  return `…(${cut} characters cut)…\n${edge(text.length > limit ? text.slice(-limit) : text)}`;
}

/**
 * Holds back the end of the text received so far only while it could be the beginning of a
 * secret; everything before is masked and let out. What it lets out, put together, is what
 * masking the whole output at once gives (for secrets without `*`): no match is split.
 */
function streamMasker(targets: readonly string[], pattern: RegExp, mask: Masker): StreamMasker {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      const cut = safeCut(pending, targets, pattern);
      const out = pending.slice(0, cut);
      pending = pending.slice(cut);
      return out === '' ? '' : mask(out);
    },
    end() {
      // What is held back begins a secret: shown whole it would be a piece of one.
      const out = pending;
      pending = '';
      return out.length >= MIN_SECRET_PIECE ? MASK : out;
    },
  };
}

/** Where `text` can be cut so that no secret, whole or begun, crosses the cut. */
function safeCut(text: string, targets: readonly string[], pattern: RegExp): number {
  let cut = startOfPossibleSecret(text, 0, targets);
  for (const m of text.matchAll(pattern)) {
    if (m.index >= cut) break;
    const end = m.index + m[0].length;
    // A whole secret crosses the cut: let it out masked, and hold back from after it.
    if (end > cut) cut = startOfPossibleSecret(text, end, targets);
  }
  return cut;
}

/** The first index >= `from` where the rest of `text` begins some target (text.length if none). */
function startOfPossibleSecret(text: string, from: number, targets: readonly string[]): number {
  const longest = targets[0]?.length ?? 0;
  // Text cut inside a character may be a whole secret's length and still only its beginning.
  const cut = endsCut(text) ? 1 : 0;
  for (let i = Math.max(from, text.length - longest + 1 - cut); i < text.length; i++) {
    const rest = text.length - i;
    for (const t of targets) {
      // Sorted longest first: the rest are no longer than `rest`.
      if (t.length + cut <= rest) break;
      if (isSameUpToCut(text, i, t, 0, rest)) return i;
    }
  }
  return text.length;
}

/** Masks the longest beginning (4+ characters) of a target that ends `text`. */
function maskPieceAtEnd(text: string, targets: readonly string[]): string {
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
function maskPieceAtStart(text: string, targets: readonly string[]): string {
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

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
