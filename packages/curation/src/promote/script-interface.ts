import type { ParamValue } from '@opsbook/schema';
import { type GetoptsSpec, readGetopts } from './getopts-spec.js';
import { type Reference, type ShellScan, scanShell } from './shell-scan.js';

/**
 * The inputs of an ad-hoc shell script, as `opsbook promote` turns them into runbook params:
 * its positional arguments (`$1`, `${2:-5432}`, `"$@"`), the options of a simple `getopts` loop,
 * and the environment variables it reads without setting them (`$BACKUP_DIR`,
 * `${PGPORT:-5432}`). Pure: text in, params and notes out.
 */

export type ParamType = 'string' | 'integer' | 'number' | 'boolean';

/** Where a param goes when the script runs: how the prologue hands it over. */
export type ParamSource =
  /** `$N` (1-based, after the options when there is a getopts loop). */
  | { kind: 'positional'; index: number; variable?: string }
  /** `$N` read before the getopts loop and shifted away before it: given before the options. */
  | { kind: 'leading'; index: number; variable?: string }
  /** The arguments after the named ones (`"$@"`), or all of them when they cannot be named. */
  | { kind: 'rest'; variable?: string }
  /** A getopts option: `-p VALUE`, or a flag `-v` (a boolean). */
  | { kind: 'option'; letter: string; takesValue: boolean; variable?: string }
  | { kind: 'env'; variable: string };

export interface DetectedParam {
  name: string;
  type: ParamType;
  default?: ParamValue;
  required: boolean;
  secret: boolean;
  description: string;
  source: ParamSource;
}

export interface ScriptInterface {
  params: DetectedParam[];
  /** What the reviewer should know: what was guessed, what could not be followed. */
  notes: string[];
  /** Why no runbook can be made of the script as it is (the script must be changed first). */
  problems: ScriptProblem[];
}

export interface ScriptProblem {
  line: number;
  col: number;
  message: string;
}

/** What the environment of any shell holds, and what the runner sets: never a param. */
const WELL_KNOWN =
  /^(?:HOME|PATH|USER|LOGNAME|SHELL|PWD|OLDPWD|TERM|LANG|LANGUAGE|LC_\w+|TZ|TMPDIR|HOSTNAME|HOSTTYPE|OSTYPE|MACHTYPE|UID|EUID|GROUPS|PPID|RANDOM|LINENO|SECONDS|IFS|PS[1-4]|OPTARG|OPTIND|OPTERR|BASH\w*|FUNCNAME|PIPESTATUS|REPLY|SHLVL|MAIL|EDITOR|VISUAL|PAGER|DISPLAY|SSH_\w+|XDG_\w+|SUDO_\w+|COLUMNS|LINES|HISTFILE|HISTSIZE|EPOCHSECONDS|EPOCHREALTIME|SRANDOM|CDPATH|ENV|FCEDIT|NLSPATH|(?:http|https|ftp|no|all)_proxy|(?:HTTP|HTTPS|FTP|NO|ALL)_PROXY|OPSBOOK_\w+)$/;

/** A variable whose value is a credential: its param is secret (never printed or journaled). */
const SECRET = /PASS(?:WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH/i;

export function detectScriptInterface(text: string): ScriptInterface {
  const scan = scanShell(text);
  const notes: string[] = [];
  const problems: ScriptProblem[] = [];
  const argv = readArguments(scan, notes, problems);
  const taken = new Set(argv.map((p) => p.name));
  const env = readEnvironment(scan).map((p) => ({ ...p, name: uniqueName(p.name, taken) }));
  return { params: [...argv, ...env], notes, problems };
}

/** A param name (`^[a-z][a-z0-9_]*$`, 64 at most) for a shell variable. */
export function paramNameOf(variable: string): string {
  const name = variable
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/^[_0-9]+/, '')
    .slice(0, 64);
  return name || 'param';
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name.slice(0, 60)}_${n}`;
  taken.add(candidate);
  return candidate;
}

/** Refs that the script's own arguments reach: its top level, and functions called with "$@". */
function argumentScope(scan: ShellScan): (offset: number) => boolean {
  const forwarded = new Set(
    scan.functions
      .filter((f) =>
        [
          ...scan.text.matchAll(new RegExp(`(?<![\\w-])${f.name}\\s+"?\\$(?:\\{@\\}|@)"?`, 'g')),
        ].some((m) => scan.contextAt(m.index) === 'code' && !scan.functionAt(m.index)),
      )
      .map((f) => f.name),
  );
  return (offset) => {
    const fn = scan.functionAt(offset);
    return !fn || forwarded.has(fn.name);
  };
}

interface ShiftMark {
  at: number;
  count: number;
}

/** Positional params, getopts options and the rest of the arguments. */
function readArguments(
  scan: ShellScan,
  notes: string[],
  problems: ScriptProblem[],
): DetectedParam[] {
  const inScope = argumentScope(scan);
  const refs = scan.references.filter((r) => inScope(r.start));
  const positional = refs.filter((r) => /^\d+$/.test(r.name) && r.name !== '0' && !r.isLength);
  const rest = refs.filter((r) => r.name === '@' || r.name === '*');
  const params: DetectedParam[] = [];
  const taken = new Set<string>();

  const getopts = readGetopts(scan, inScope);
  if (getopts && 'problem' in getopts) {
    notes.push(`${getopts.problem}: the arguments are one list param, args`);
    return [restParam(scan, rest, true)];
  }
  const shifts: ShiftMark[] = [];
  for (const m of scan.code.matchAll(/(?<![\w-])shift(?![\w-])([^;&|\n]*)/g)) {
    if (!inScope(m.index)) continue;
    const operand = scan.text.slice(m.index + 5, m.index + m[0].length).trim();
    if (getopts && /OPTIND/.test(operand)) continue;
    const count = operand === '' ? 1 : /^\d+$/.test(operand) ? Number(operand) : undefined;
    if (count === undefined || scan.loopDepthAt(m.index) > 0) {
      notes.push(
        `the script shifts its arguments ${count === undefined ? `by ${operand}` : 'in a loop'} (it parses them itself): they are one list param, args`,
      );
      return [restParam(scan, rest, true)];
    }
    shifts.push({ at: m.index, count });
  }
  if (/(?<![\w-])set\s+--/.test(scan.code)) {
    notes.push('the script sets its own arguments (set --): they are one list param, args');
    return [restParam(scan, rest, true)];
  }
  if (getopts) {
    const leading = readLeading(scan, getopts, positional, shifts, problems);
    for (const p of leading) p.name = uniqueName(p.name, taken);
    params.push(...leading);
    for (const option of getopts.options) {
      const p = optionParam(scan, option);
      p.name = uniqueName(p.name, taken);
      params.push(p);
    }
    notes.push(...getopts.notes);
  }
  // Operands count the shifts after the getopts loop only: the ones before it shifted the
  // leading arguments away.
  const after = getopts?.loopEnd ?? -1;
  const shiftedBy = (offset: number) =>
    shifts.filter((s) => s.at > after && s.at < offset).reduce((n, s) => n + s.count, 0);
  const byIndex = new Map<number, Reference[]>();
  for (const r of positional) {
    // After `shift $((OPTIND - 1))` the operands are $1…; the ones before the loop are leading.
    if (getopts && r.start < getopts.loopEnd) continue;
    const index = Number(r.name) + shiftedBy(r.start);
    byIndex.set(index, [...(byIndex.get(index) ?? []), r]);
  }
  const count = Math.max(0, ...byIndex.keys());
  for (let index = 1; index <= count; index++) {
    const p = positionalParam(scan, index, byIndex.get(index) ?? []);
    p.name = uniqueName(p.name, taken);
    params.push(p);
  }
  if (rest.length) {
    const p = restParam(scan, rest, count === 0);
    p.name = uniqueName(p.name, taken);
    params.push(p);
  }
  // Positionals cannot be skipped: one that must be given makes every one before it needed too.
  const lastRequired = params.findLastIndex((p) => p.source.kind === 'positional' && p.required);
  for (const [k, p] of params.entries())
    if (k < lastRequired && p.source.kind === 'positional' && p.default === undefined)
      p.required = true;
  return params;
}

/**
 * `$N` read before the getopts loop. getopts starts at the first argument left when the loop
 * begins, so the script takes them first only when it shifts them away before its loop
 * (`DB=$1; shift; while getopts …`). Without that shift getopts parses the very argument the
 * script already read: by hand `-v` is then either never an option or the database, and which
 * one its author meant cannot be told: that is a problem, at the line that reads it.
 */
function readLeading(
  scan: ShellScan,
  getopts: GetoptsSpec,
  positional: Reference[],
  shifts: ShiftMark[],
  problems: ScriptProblem[],
): DetectedParam[] {
  const before = positional.filter((r) => r.start < getopts.loopStart);
  if (before.length === 0) return [];
  const shiftedBy = (offset: number) =>
    shifts.filter((s) => s.at < offset).reduce((n, s) => n + s.count, 0);
  const consumed = shiftedBy(getopts.loopStart);
  const byIndex = new Map<number, Reference[]>();
  for (const r of before) {
    const index = Number(r.name) + shiftedBy(r.start);
    byIndex.set(index, [...(byIndex.get(index) ?? []), r]);
  }
  const count = Math.max(...byIndex.keys());
  if (count > consumed) {
    const first = before.find((r) => Number(r.name) + shiftedBy(r.start) > consumed)!;
    const variable = assignedFrom(scan, first);
    const at = lineColOf(scan.text, first.start);
    const loopLine = lineColOf(scan.text, getopts.loopStart).line;
    const extra = count - consumed;
    problems.push({
      ...at,
      message: `the script reads $${first.name}${variable ? ` (${variable})` : ''} before its getopts loop (line ${loopLine}), and getopts parses the arguments from that same one: run by hand, an option there is taken as the argument, and an argument there ends the options, so promote cannot tell in which order the script expects them. Put \`shift ${extra}\` before the loop if the arguments come first, or read them after \`shift $((OPTIND - 1))\` if the options come first; then promote it again`,
    });
    return [];
  }
  const params: DetectedParam[] = [];
  for (let index = 1; index <= consumed; index++) {
    const refs = byIndex.get(index) ?? [];
    const p = positionalParam(scan, index, refs);
    // The script shifts them away: each one must be there, given or defaulted. A secret keeps
    // the script's own default out of runbook.yaml; when not given, the prologue passes an
    // empty word, which `${1:-…}` (with the colon) replaces with that default.
    if (p.default === undefined && !(p.secret && hasDefaultForEmpty(refs))) p.required = true;
    const variable = p.source.kind === 'positional' ? p.source.variable : undefined;
    p.source = { kind: 'leading', index, ...(variable ? { variable } : {}) };
    params.push(p);
  }
  return params;
}

function lineColOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, col: offset - before.lastIndexOf('\n') };
}

function positionalParam(scan: ShellScan, index: number, refs: Reference[]): DetectedParam {
  const variable = refs.map((r) => assignedFrom(scan, r)).find((v) => v !== undefined);
  const { value, required, message, dynamic } = defaultOf(refs);
  const type = value !== undefined ? typeOfValue(value) : inferredType(scan, variable, refs);
  const named = variable ? ` (the script calls it ${variable})` : '';
  const what =
    refs.length === 0
      ? `the script's argument $${index}, which it does not read by number`
      : `the script's argument $${index}${named}`;
  const secret = variable !== undefined && SECRET.test(variable);
  return {
    name: variable ? paramNameOf(variable) : `arg${index}`,
    type,
    // A secret's default would sit in runbook.yaml for everyone to read: the script keeps its own.
    ...(value !== undefined && !secret ? { default: typedValue(value, type) } : {}),
    required: value === undefined && !dynamic ? true : required,
    secret,
    description: describe(what, message, dynamic || (secret && value !== undefined)),
    source: { kind: 'positional', index, ...(variable ? { variable } : {}) },
  };
}

function restParam(scan: ShellScan, refs: Reference[], isAll: boolean): DetectedParam {
  const variable = refs.map((r) => assignedFrom(scan, r)).find((v) => v !== undefined);
  return {
    name: variable ? paramNameOf(variable) : 'args',
    type: 'string',
    default: '',
    required: false,
    secret: false,
    description: describe(
      `${isAll ? 'the arguments of the script' : 'further arguments of the script, after the ones above'}, separated by blanks (a word cannot hold a blank; no quoting, no globbing)`,
    ),
    source: { kind: 'rest', ...(variable ? { variable } : {}) },
  };
}

function optionParam(
  scan: ShellScan,
  option: { letter: string; takesValue: boolean; variable?: string },
): DetectedParam {
  const { letter, takesValue, variable } = option;
  const name = variable ? paramNameOf(variable) : `opt_${letter.toLowerCase()}`;
  const source = { kind: 'option' as const, letter, takesValue, ...(variable ? { variable } : {}) };
  const set = variable ? ` (it sets ${variable})` : '';
  if (!takesValue)
    return {
      name,
      type: 'boolean',
      default: false,
      required: false,
      secret: false,
      description: describe(
        `the script's flag -${letter}${variable ? `, which sets ${variable}` : ''}: true passes -${letter} to the script, false leaves it out`,
      ),
      source,
    };
  // A value the script gives the variable before its getopts loop is the option's default.
  const initial = variable ? initialValue(scan, variable) : undefined;
  const type = initial !== undefined ? typeOfValue(initial) : 'string';
  const secret = variable !== undefined && SECRET.test(variable);
  return {
    name,
    type,
    // A secret's default would sit in runbook.yaml for everyone to read: the script keeps its own.
    ...(initial !== undefined && !secret ? { default: typedValue(initial, type) } : {}),
    required: false,
    secret,
    description: describe(
      `the script's option -${letter} VALUE${set}`,
      undefined,
      secret && initial !== undefined,
    ),
    source,
  };
}

/** Variables read before the script sets them: its environment. */
function readEnvironment(scan: ShellScan): DetectedParam[] {
  const byName = new Map<string, Reference[]>();
  for (const r of scan.references)
    if (/^[A-Za-z_]\w*$/.test(r.name) && !WELL_KNOWN.test(r.name))
      byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const params: DetectedParam[] = [];
  for (const [variable, refs] of byName) {
    if (!isReadFromEnvironment(scan, variable, refs)) continue;
    const { value, required, message, dynamic } = defaultOf(refs);
    const secret = SECRET.test(variable);
    const type = value !== undefined ? typeOfValue(value) : inferredType(scan, variable, refs);
    params.push({
      name: paramNameOf(variable),
      type,
      // A secret's default would sit in runbook.yaml for everyone to read: it has none.
      ...(value !== undefined && !secret ? { default: typedValue(value, type) } : {}),
      required,
      secret,
      description: describe(
        `read by the script from $${variable}${secret ? ' (a secret: give it in the environment of opsbook run)' : ''}`,
        message,
        dynamic || (secret && value !== undefined),
      ),
      source: { kind: 'env', variable },
    });
  }
  return params.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The script reads `variable` from its environment when, at its top level, a read comes before
 * any assignment (`${X:=…}` and `X=${X:-…}` are such reads), or when nothing sets it anywhere.
 * Lower-case names count only in the second case: `count=$((count + 1))` in a loop is no input.
 */
function isReadFromEnvironment(scan: ShellScan, variable: string, refs: Reference[]): boolean {
  const assigned = scan.assignments.filter((a) => a.name === variable);
  if (assigned.length === 0) return true;
  if (variable !== variable.toUpperCase()) return false;
  const firstSet = Math.min(...assigned.filter((a) => !scan.functionAt(a.start)).map((a) => a.end));
  return refs.some((r) => !scan.functionAt(r.start) && r.start < firstSet);
}

/** `NAME=$1`, `NAME="${2:-x}"`, `local NAME=$1`: the variable a reference is the whole value of. */
function assignedFrom(scan: ShellScan, r: Reference): string | undefined {
  const line = scan.text.slice(scan.text.lastIndexOf('\n', r.start - 1) + 1, r.start);
  const before = /(?:^|[\s;&|(])([A-Za-z_]\w*)="?$/.exec(line);
  if (!before) return undefined;
  const after = scan.text.slice(r.end, r.end + 2);
  const closes = before[0].endsWith('"') ? after.startsWith('"') : true;
  const tail = before[0].endsWith('"') ? after.slice(1) : after;
  return closes && /^(?:$|[\s;&|)])/.test(tail) ? before[1] : undefined;
}

/** A literal value assigned to `variable` at the top level before anything else sets it. */
function initialValue(scan: ShellScan, variable: string): string | undefined {
  const first = scan.assignments
    .filter((a) => a.name === variable && !scan.functionAt(a.start))
    .sort((a, b) => a.start - b.start)[0];
  return first?.value !== undefined ? staticWord(first.value) : undefined;
}

interface DefaultFacts {
  value?: string;
  required: boolean;
  message?: string;
  /** The script computes its default (`${X:-$(hostname)}`): the param has none. */
  dynamic: boolean;
}

function defaultOf(refs: Reference[]): DefaultFacts {
  let value: string | undefined;
  let message: string | undefined;
  let required = false;
  let dynamic = false;
  for (const r of refs) {
    if (r.op === undefined || r.word === undefined) continue;
    if (/^:?[-=]$/.test(r.op)) {
      const word = staticWord(r.word);
      if (word === undefined) dynamic = true;
      else value ??= word;
    } else if (/^:?\?$/.test(r.op)) {
      required = true;
      message ??= staticWord(r.word) ?? r.word;
    }
  }
  return {
    ...(value !== undefined ? { value } : {}),
    required,
    dynamic,
    ...(message ? { message } : {}),
  };
}

/** Whether a reference gives a static default that an empty value takes too (`:-`, `:=`). */
function hasDefaultForEmpty(refs: Reference[]): boolean {
  return refs.some(
    (r) =>
      r.op !== undefined &&
      /^:[-=]$/.test(r.op) &&
      r.word !== undefined &&
      staticWord(r.word) !== undefined,
  );
}

/** The text a word stands for when it expands nothing: unquoted, '…' or "…". */
function staticWord(word: string): string | undefined {
  const w = word.trim();
  if (/^'[^']*'$/.test(w)) return w.slice(1, -1);
  if (/^"[^"$`\\]*"$/.test(w)) return w.slice(1, -1);
  if (/^[^'"$`\\\s;&|<>(){}*?[\]]*$/.test(w)) return w;
  return undefined;
}

export function typeOfValue(value: string): ParamType {
  if (/^-?(?:0|[1-9]\d{0,14})$/.test(value)) return 'integer';
  if (/^-?\d+\.\d+$/.test(value)) return 'number';
  if (value === 'true' || value === 'false') return 'boolean';
  return 'string';
}

function typedValue(value: string, type: ParamType): ParamValue {
  if (type === 'integer' || type === 'number') return Number(value);
  if (type === 'boolean') return value === 'true';
  return value;
}

/** A variable compared with -eq, -lt, … or used in $(( )) holds a number. */
function inferredType(scan: ShellScan, variable: string | undefined, refs: Reference[]): ParamType {
  const names = new Set(refs.map((r) => r.name));
  if (variable) names.add(variable);
  const numeric = scan.references.some((r) => {
    if (!names.has(r.name)) return false;
    if (scan.contextAt(r.start) === 'arithmetic') return true;
    const around = `${scan.text.slice(Math.max(0, r.start - 6), r.start)}@${scan.text.slice(r.end, r.end + 6)}`;
    return /-(?:eq|ne|lt|le|gt|ge)\s+"?@|@"?\s+-(?:eq|ne|lt|le|gt|ge)\b/.test(around);
  });
  return numeric ? 'integer' : 'string';
}

function describe(what: string, message?: string, dynamic = false): string {
  const parts = ['TODO: say what this is.', `It is ${what}.`];
  if (message) parts.push(`The script's message when it is missing: ${message}`);
  if (dynamic) parts.push('When it is not given, the script computes its own default.');
  return parts.join(' ');
}
