import {
  afterContinuations,
  type ShellContext,
  type ShellContexts,
  shellContexts,
} from './shell-context.js';
import { type ParsedTemplate, parseTemplate, type TemplateRef } from './template.js';

/**
 * Where each `{{ … }}` of a `run:` block lands in the shell text. opsbook substitutes a value as
 * one single-quoted word, which keeps it a value only where the shell reads code: inside "…",
 * '…', a here-document or $(( )), after a `\` or a `$`, or inside backquotes, the quotes opsbook
 * adds do not hold and a value can become a command. `opsbook validate` refuses those spots
 * (`placeholderSpotProblem`), and rendering refuses them again.
 */
export interface RunTemplatePlaceholder {
  ref: TemplateRef;
  raw: string;
  /** Offsets in the template (the run: value). */
  start: number;
  end: number;
  /** Offset of its stand-in (`_` × raw.length) in `skeleton`. */
  renderedStart: number;
  context: ShellContext;
  /** What makes a spot in code unsafe (see `hazardProblem`). */
  hazard?: Hazard;
}

export interface RunTemplateSkeleton {
  /** The template with each placeholder as `_`s and each literal `{{ "…" }}` as its text. */
  skeleton: string;
  placeholders: RunTemplatePlaceholder[];
  /** The template offset that skeleton offset `offset` came from. */
  templateOffset(offset: number): number;
}

type Hazard =
  | 'backslash'
  | 'dollar'
  | 'backquotes'
  | 'ansi-c'
  | 'expansion'
  | 'subscript'
  | 'bash-test'
  | 'arithmetic-command'
  | 'variable-name';

interface Segment {
  /** Start in the skeleton and in the template, and lengths in each. */
  at: number;
  from: number;
  length: number;
  fromLength: number;
}

const LITERAL = /\{\{\s*"([^"]*)"\s*\}\}/g;

/** `parsed`: the template's parse, when the caller has it already (validate checks its names first). */
export function runTemplateSkeleton(
  template: string,
  parsed: ParsedTemplate = parseTemplate(template),
): RunTemplateSkeleton {
  const refs: { ref: TemplateRef; raw: string; start: number; end: number }[] = [];
  for (const p of parsed.parts)
    if (p.kind === 'ref')
      refs.push({ ref: p.ref, raw: p.raw, start: p.offset, end: p.offset + p.raw.length });
  const segments: Segment[] = [];
  let skeleton = '';
  let from = 0;
  const addText = (end: number) => {
    const text = template.slice(from, end);
    // Only a `{{` can start a literal: most text between placeholders has none.
    if (!text.includes('{{')) {
      addSegment(text, from, text.length);
      return;
    }
    let last = 0;
    for (const m of text.matchAll(LITERAL)) {
      addSegment(text.slice(last, m.index), from + last, m.index - last);
      addSegment(m[1]!, from + m.index, m[0].length);
      last = m.index + m[0].length;
    }
    addSegment(text.slice(last), from + last, text.length - last);
  };
  const addSegment = (text: string, at: number, fromLength: number) => {
    segments.push({ at: skeleton.length, from: at, length: text.length, fromLength });
    skeleton += text;
  };
  const starts: number[] = [];
  for (const r of refs) {
    addText(r.start);
    starts.push(skeleton.length);
    addSegment('_'.repeat(r.raw.length), r.start, r.raw.length);
    from = r.end;
  }
  addText(template.length);

  const contexts = shellContexts(skeleton);
  const ansiC = firstAnsiC(skeleton, contexts);
  const placeholders = refs.map((r, k): RunTemplatePlaceholder => {
    const at = starts[k]!;
    const context = contexts.contextAt(at);
    const hazard =
      at > ansiC
        ? 'ansi-c'
        : context !== 'code'
          ? undefined
          : contexts.backquotedAt(at)
            ? 'backquotes'
            : (hazardBefore(skeleton, at) ?? hazardAround(skeleton, contexts, at));
    const placeholder: RunTemplatePlaceholder = {
      ref: r.ref,
      raw: r.raw,
      start: r.start,
      end: r.end,
      renderedStart: at,
      context,
    };
    if (hazard) placeholder.hazard = hazard;
    return placeholder;
  });
  return {
    skeleton,
    placeholders,
    templateOffset: (offset) => templateOffsetOf(segments, offset),
  };
}

/**
 * A `\` right before the value's opening quote escapes it (`\'…'`), so the value's own quote
 * opens instead; a `$` makes it `$'…'`, where bash reads backslash escapes (`\'`) inside.
 */
function hazardBefore(text: string, at: number): Hazard | undefined {
  // The shell removes line continuations before it reads: `$\⏎{{ … }}` is `${{ … }}`.
  let end = at;
  while (text[end - 1] === '\n' && text[end - 2] === '\\' && text[end - 3] !== '\\') end -= 2;
  let slashes = 0;
  while (text[end - 1 - slashes] === '\\') slashes++;
  if (slashes % 2 === 1) return 'backslash';
  return slashes === 0 && text[end - 1] === '$' ? 'dollar' : undefined;
}

/**
 * Where the first `$'` of code is, or Infinity: bash reads `$'…'` with backslash escapes, dash as
 * `$` and '…', so the two end it at different quotes and every placeholder after it is in code
 * for one shell and inside quotes for the other.
 */
function firstAnsiC(text: string, contexts: ShellContexts): number {
  for (let i = text.indexOf('$'); i >= 0; i = text.indexOf('$', i + 1)) {
    if (text[afterContinuations(text, i + 1)] === "'" && contexts.contextAt(i) === 'code') return i;
  }
  return Number.POSITIVE_INFINITY;
}

/** `${name:-`, `${name#`, …: the operators after which a word of `${ }` is a plain value. */
const EXPANSION_VALUE = /^[A-Za-z_][A-Za-z0-9_]*(?::?[-=+?]|##?|%%?)/;
/** Builtins whose plain arguments are variable names (bash evaluates `a[…]` subscripts there). */
const NAME_TAKERS = new Set([
  'read',
  'unset',
  'export',
  'declare',
  'typeset',
  'local',
  'readonly',
  'mapfile',
  'readarray',
  'getopts',
]);
const KEYWORDS = new Set(['if', 'then', 'do', 'else', 'elif', 'while', 'until', '!', 'time']);

/**
 * What bash evaluates as arithmetic or as a variable name, where a quoted value's `a[$( )]`
 * runs: a `${ }` other than its value operators, a `[` subscript, `[[ ]]`, `let`, `declare -i`,
 * and the name arguments of read, unset, printf -v, test -v and the like.
 */
function hazardAround(text: string, contexts: ShellContexts, at: number): Hazard | undefined {
  const expansion = contexts.expansionStartAt(at);
  if (expansion >= 0)
    return EXPANSION_VALUE.test(text.slice(expansion + 2, at)) ? undefined : 'expansion';
  let start = at;
  while (start > 0 && !isCommandSeparator(text, contexts, start - 1)) start--;
  const before = text.slice(start, at);
  const word = /\S*$/.exec(before)![0];
  if (/[A-Za-z0-9_$]\[[^\]]*$/.test(word)) return 'subscript';
  const words = before.split(/\s+/).filter(Boolean);
  while (words.length > 0 && (KEYWORDS.has(words[0]!) || /^[A-Za-z_]\w*=/.test(words[0]!)))
    words.shift();
  const [command, ...args] = words;
  if (command === undefined) return undefined;
  if (command === '[[') return 'bash-test';
  if (command === 'let') return 'arithmetic-command';
  // A word after a redirection is a file (or a here-string), whatever the command.
  const startsWord = word === '' && !/^\d*(?:<<<|[<>]&?|>>|>\||<>)$/.test(args.at(-1) ?? '');
  if (NAME_TAKERS.has(command)) {
    if (args.some((a) => /^-[A-Za-z]*i/.test(a))) return 'arithmetic-command';
    return startsWord ? 'variable-name' : undefined;
  }
  const previous = args.at(-1);
  if (startsWord && previous === '-v' && ['printf', 'test', '['].includes(command))
    return 'variable-name';
  return undefined;
}

/** A character of code that ends a simple command (a line continuation does not). */
function isCommandSeparator(text: string, contexts: ShellContexts, i: number): boolean {
  const c = text[i]!;
  if (!';&|\n(){}`'.includes(c)) return false;
  if (c === '\n' && text[i - 1] === '\\') return false;
  return contexts.contextAt(i) === 'code';
}

function templateOffsetOf(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  if (hi < 0) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.at <= offset) lo = mid;
    else hi = mid - 1;
  }
  const s = segments[lo]!;
  const inside = offset - s.at;
  // Inside a replaced piece of another length (a literal), its start; past the end, the end.
  if (s.length !== s.fromLength) return inside >= s.length ? s.from + s.fromLength : s.from;
  return s.from + Math.min(inside, s.fromLength);
}

const contextProblem: Partial<Record<ShellContext, string>> = {
  double:
    "is inside double quotes: opsbook substitutes it already quoted ('…'), so the quotes become part of the text and a $( ) in the value would run; remove the quotes around it",
  single:
    'is inside single quotes: the quotes opsbook puts around the value end yours, so the value is unquoted there; remove the quotes around it',
  heredoc:
    'is in a here-document: the value lands there with its quotes, and unless the delimiter is quoted a $ or ` in it expands; pass it as an argument, or through the environment of a script: step',
  arithmetic:
    'is inside $(( )): the value, substituted as a quoted word, is not a number there; assign it first (n={{ … }}) and compute with $((n + 1))',
};

/** A secret is not substituted: it becomes `"$OPSBOOK_PARAM_NAME"`, whose quotes meet yours. */
const secretContextProblem: Partial<Record<ShellContext, string>> = {
  double:
    'is inside double quotes: a secret param becomes "$OPSBOOK_PARAM_…" there, whose quotes end yours and leave the variable unquoted (split on spaces, globbed); remove the quotes around it',
  single:
    'is inside single quotes: a secret param becomes "$OPSBOOK_PARAM_…", which single quotes keep as literal text; the secret is never used',
  heredoc:
    'is in a here-document: a secret param lands there as "$OPSBOOK_PARAM_…" with its quotes; use the variable itself',
  arithmetic:
    'is inside $(( )): a secret param becomes "$OPSBOOK_PARAM_…", a quoted word, not a number',
};

const hazardProblem: Record<NonNullable<RunTemplatePlaceholder['hazard']>, string> = {
  backslash:
    "follows a backslash, which escapes the quote opsbook puts around the value: the value's own quotes then open and close, and a $( ) in it would run; remove the backslash",
  dollar:
    "follows a $: with the quote opsbook puts around the value it reads $'…', where bash takes backslash escapes, so a \\' in the value ends the quoting; remove the $ or put a space after it",
  backquotes:
    'is inside backquotes (`…`), where a ` in the value ends the command substitution and the rest of the value runs; use $( ) instead of backquotes',
  'ansi-c':
    "follows a $'…' string, which bash ends at another quote than dash and sh do: for one of them the placeholder is inside quotes, where a value can become a command; write that text with '…' or \"…\"",
  expansion:
    'is inside ${ } other than after :-, -, :=, =, :+, +, :?, ?, #, ##, % or %%: bash reads it as a name, an offset or a subscript, where a $( ) in the value runs; assign the value to a variable first (v={{ … }}) and use "$v"',
  subscript:
    'is inside a [ ] subscript, which bash evaluates as arithmetic, where a $( ) in the value runs; assign the value to a variable first (v={{ … }}) and use "$v"',
  'bash-test':
    'is inside [[ ]], which sh (dash) does not have and where bash evaluates -eq, -lt and the like as arithmetic, where a $( ) in the value runs; use [ ] (test)',
  'arithmetic-command':
    'is in a command that evaluates arithmetic (let, declare -i, local -i), where a $( ) in the value runs; check the value with a param pattern or type: integer, assign it to a plain variable and compute with $((v + 1))',
  'variable-name':
    'is used as a variable name (read, unset, export, printf -v, test -v, …), where bash evaluates a [ ] subscript in the value and a $( ) in it runs; name the variable in the runbook and pass the value to it',
};

/**
 * Why a placeholder's spot in a `run:` block is unsafe or wrong (the sentence that follows its
 * raw text), or undefined where the shell reads it as the quoted word it becomes.
 */
export function placeholderSpotProblem(
  p: Pick<RunTemplatePlaceholder, 'context' | 'hazard'>,
  isSecret: boolean,
): string | undefined {
  if (p.hazard === 'ansi-c') return hazardProblem['ansi-c'];
  const byContext = (isSecret ? secretContextProblem : contextProblem)[p.context];
  if (byContext) return byContext;
  // A secret becomes "$OPSBOOK_PARAM_…", whose expansion the shell never reads as code.
  return p.hazard && !isSecret ? hazardProblem[p.hazard] : undefined;
}
