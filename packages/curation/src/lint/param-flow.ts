import { shellContexts } from '@opsbook/schema';
import { commandWordAt, simpleCommandWords } from './shell-commands.js';

/** A param's value expanded where the shell hands it to a program. */
export interface ParamUse {
  param: string;
  /** The variable expanded there (`OPSBOOK_PARAM_TOKEN`, `token`, `2`, `@`). */
  variable: string;
  start: number;
  end: number;
  command?: string;
}

/**
 * Where a secret param reaches a program's arguments (its argv, which ps shows to every user of
 * the host), through the variables it is handed to (`paramReferences`).
 */
export function secretsInArguments(
  text: string,
  secrets: readonly string[],
  seeds: readonly { start: number; end: number; param: string }[] = [],
): ParamUse[] {
  // An Ansible Vault encrypted host var reaches a step as $OPSBOOK_VAULT_<name> (@opsbook/exec's
  // vaultEnvName): secret by definition, whatever the runbook declares. Its use is `vault:<name>`
  // (a param's name has no colon).
  const vaulted = new Map(
    [...text.matchAll(/OPSBOOK_VAULT_(\w+)/g)].map((m) => [m[0], `${VAULT_PREFIX}${m[1]}`]),
  );
  return paramReferences(text, secrets, seeds, vaulted).flatMap((ref) => {
    const word = commandWordAt(text, ref.start);
    return word?.role === 'argument'
      ? [{ ...ref, ...(word.command ? { command: word.command } : {}) }]
      : [];
  });
}

/**
 * Where a param's value is expanded unquoted into a program's arguments (`rm -rf /tmp/$1/*`):
 * the shell splits it on blanks and expands `*`, `?` and `[` in it, so one value becomes several
 * arguments, or options. A `# shellcheck disable=SC2086` does not hide it: this is opsbook's
 * own reading. `set` is left out: promote's prologue splits a list param with `set -f; set --
 * … $OPSBOOK_PARAM_ARGS` on purpose, globbing off.
 */
export function unquotedParams(
  text: string,
  params: readonly string[],
  seeds: readonly { start: number; end: number; param: string }[] = [],
): ParamUse[] {
  const contexts = shellContexts(text);
  return paramReferences(text, params, seeds).flatMap((ref) => {
    if (contexts.contextAt(ref.start) !== 'code') return [];
    const word = commandWordAt(text, ref.start);
    return word?.role === 'argument'
      ? [{ ...ref, ...(word.command ? { command: word.command } : {}) }]
      : [];
  });
}

/**
 * Every expansion of a param's value in `text`, followed through the shell's variables:
 * `$OPSBOOK_PARAM_X` itself, a variable assigned from it (`token=$OPSBOOK_PARAM_TOKEN`,
 * `auth="Bearer $token"`), and the positional params `set --` gives it (promote's prologue:
 * `set -- "$OPSBOOK_PARAM_UNIT" "$OPSBOOK_PARAM_TOKEN"`, then `token=$2`), `shift N` moving them
 * down. Flow-insensitive, like the rest of lint's reading: a variable that holds a param
 * anywhere in the text is taken to hold it everywhere. `seeds` are spots of the text that are a
 * param already (a run: block's `{{ params.token }}` stand-in): what is assigned from them is
 * followed, they themselves are left out (the placeholder rules judge them).
 */
function paramReferences(
  text: string,
  params: readonly string[],
  seeds: readonly { start: number; end: number; param: string }[] = [],
  variables: ReadonlyMap<string, string> = new Map(),
): Omit<ParamUse, 'command'>[] {
  if (!params.length && !variables.size) return [];
  const tainted = new Map([...params.map((s) => [paramVariable(s), s] as const), ...variables]);
  if (!seeds.length && ![...tainted.keys()].some((v) => text.includes(v))) return [];
  const contexts = shellContexts(text);
  const refs = [...text.matchAll(REFERENCE)]
    .filter((m) => ['code', 'double'].includes(contexts.contextAt(m.index)))
    .map((m) => ({ name: (m[1] ?? m[2])!, start: m.index, end: m.index + m[0].length }));
  const seedOf = (at: number) => seeds.find((s) => at >= s.start && at < s.end);
  for (const ref of refs) {
    const seed = seedOf(ref.start);
    if (seed) tainted.set(ref.name, seed.param);
  }
  const positional = () => [...tainted.entries()].find(([k]) => /^\d+$/.test(k))?.[1];
  const paramOf = (ref: { name: string }) =>
    tainted.get(ref.name) ?? (ref.name === '@' || ref.name === '*' ? positional() : undefined);
  const paramIn = (start: number, end: number): string | undefined => {
    for (const ref of refs) {
      const param = ref.start >= start && ref.start < end ? paramOf(ref) : undefined;
      if (param) return param;
    }
    return undefined;
  };
  const flows = valueFlows(text);
  const optargs = optargAssignments(text);
  // Each round can only add a name: at most one round per flow, and one to see nothing changed.
  for (let round = 0; round <= flows.length; round++) {
    const before = tainted.size;
    for (const flow of flows) {
      if (flow.kind === 'assign') {
        const param = paramIn(flow.start, flow.end);
        if (param && !tainted.has(flow.name)) tainted.set(flow.name, param);
      } else if (flow.kind === 'set') {
        // After "$@" (promote's prologue adds options one by one) the positions are unknown.
        const appends = flow.words.some((w) => /^"?\$(?:@|\{@\})"?$/.test(w.text));
        flow.words.forEach((w, i) => {
          const param = paramIn(w.start, w.end);
          if (!param) return;
          if (!appends && !tainted.has(String(i + 1))) tainted.set(String(i + 1), param);
          // `set -- -t "$OPSBOOK_PARAM_TOKEN"` and a getopts branch `t) token=$OPTARG ;;`.
          const option = /^-([A-Za-z0-9])$/.exec(flow.words[i - 1]?.text ?? '')?.[1];
          for (const name of option ? (optargs.get(option) ?? []) : [])
            if (!tainted.has(name)) tainted.set(name, param);
        });
      } else {
        for (const [name, param] of [...tainted])
          if (/^\d+$/.test(name) && Number(name) > flow.count) {
            const moved = String(Number(name) - flow.count);
            if (!tainted.has(moved)) tainted.set(moved, param);
          }
      }
    }
    if (tainted.size === before) break;
  }
  return refs.flatMap((ref) => {
    const param = seedOf(ref.start) ? undefined : paramOf(ref);
    return param ? [{ param, variable: ref.name, start: ref.start, end: ref.end }] : [];
  });
}

/** `$NAME`, `${NAME…}`, `$1`, `${12}`, `$@`, `"$*"`. */
const REFERENCE = /\$\{([A-Za-z_]\w*|\d+|[@*])[^}]*\}|\$([A-Za-z_]\w*|\d|[@*])/g;

type Flow =
  | { kind: 'assign'; name: string; start: number; end: number }
  | { kind: 'set'; words: { start: number; end: number; text: string }[] }
  | { kind: 'shift'; count: number };

const DECLARATIONS = new Set(['export', 'readonly', 'local', 'declare', 'typeset']);

/** How values move between variables: assignments, `set -- WORDS`, `shift N`. */
function valueFlows(text: string): Flow[] {
  const flows: Flow[] = [];
  for (const { words, name } of simpleCommandWords(text)) {
    const command = words[name]?.word;
    const assignments = words.slice(0, name);
    if (command && DECLARATIONS.has(command)) assignments.push(...words.slice(name + 1));
    for (const w of assignments) {
      const m = /^([A-Za-z_]\w*)=/.exec(w.word);
      if (!m) continue;
      const start = w.at + m[0].length;
      // The value whole: a command substitution in it (`auth=$(printf … "$TOKEN" | base64)`)
      // is read as commands of their own, which end the assignment word early.
      flows.push({
        kind: 'assign',
        name: m[1]!,
        start,
        end: Math.max(w.end, wordEnd(text, start)),
      });
    }
    const args = words.slice(name + 1);
    // `printf -v NAME FORMAT ARGS`: the shell's own printf sets NAME from its arguments.
    if (
      command === 'printf' &&
      args[0]?.word === '-v' &&
      /^[A-Za-z_]\w*$/.test(args[1]?.word ?? '')
    )
      flows.push({
        kind: 'assign',
        name: args[1]!.word,
        start: args[1]!.end,
        end: args.at(-1)!.end,
      });
    if (command === 'set') {
      const dashes = args.findIndex((w) => w.word === '--');
      const operands =
        dashes >= 0 ? args.slice(dashes + 1) : /^[-+]/.test(args[0]?.word ?? '-') ? [] : args;
      flows.push({
        kind: 'set',
        words: operands.map((w) => ({ start: w.at, end: w.end, text: w.word })),
      });
    }
    if (command === 'shift')
      flows.push({
        kind: 'shift',
        count: /^\d+$/.test(args[0]?.word ?? '') ? Number(args[0]!.word) : 1,
      });
  }
  return flows;
}

/**
 * Where the shell word starting at `start` ends: at a blank or an operator outside quotes,
 * `$(…)` and backquotes (a `\` escaping the next character).
 */
function wordEnd(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" && quote !== '"' && quote !== '`') {
      // Single quotes, also inside $(…): nothing in them counts.
      const close = text.indexOf("'", i + 1);
      if (close < 0) return text.length;
      i = close;
    } else if (c === '\\') i++;
    else if (c === '$' && text[i + 1] === '(') {
      depth++;
      i++;
    } else if (depth > 0) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === '`') quote = c;
    else if (/[\s;&|<>()]/.test(c)) return i;
  }
  return text.length;
}

/** The variables a getopts `case` branch sets from `$OPTARG`, by option letter (`t) token=$OPTARG`). */
function optargAssignments(text: string): Map<string, string[]> {
  const byOption = new Map<string, string[]>();
  for (const m of text.matchAll(
    /(?:^|[\s;(|])([A-Za-z0-9])\)\s*([A-Za-z_]\w*)=["']?\$\{?OPTARG\b/gm,
  ))
    byOption.set(m[1]!, [...(byOption.get(m[1]!) ?? []), m[2]!]);
  return byOption;
}

/** The start of a use's `param` that is an Ansible Vault encrypted host var's name. */
export const VAULT_PREFIX = 'vault:';

/** The runner's variable of a param (as @opsbook/exec's paramEnvName names it). */
export function paramVariable(name: string): string {
  return `OPSBOOK_PARAM_${name.toUpperCase()}`;
}
