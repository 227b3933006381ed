import { shellContexts } from '@opsbook/schema';
import { commandWordAt, simpleCommandWords } from './shell-commands.js';

/** A secret expanded where a process's argv gets it. */
export interface SecretLeak {
  param: string;
  /** The variable expanded there (`OPSBOOK_PARAM_TOKEN`, `token`, `2`, `@`). */
  variable: string;
  start: number;
  end: number;
  command?: string;
}

/**
 * Where a secret param reaches a program's arguments, followed through the shell's variables:
 * `$OPSBOOK_PARAM_X` itself, a variable assigned from it (`token=$OPSBOOK_PARAM_TOKEN`,
 * `auth="Bearer $token"`), and the positional params `set --` gives it (promote's prologue:
 * `set -- "$OPSBOOK_PARAM_UNIT" "$OPSBOOK_PARAM_TOKEN"`, then `token=$2`), `shift N` moving them
 * down. Flow-insensitive, like the rest of lint's reading: a variable that holds a secret
 * anywhere in the text is taken to hold it everywhere. `seeds` are spots of the text that are a
 * secret already (a run: block's `{{ params.token }}` stand-in): what is assigned from them is
 * followed, they themselves are the placeholder rule's to report.
 */
export function secretsInArguments(
  text: string,
  secrets: readonly string[],
  seeds: readonly { start: number; end: number; param: string }[] = [],
): SecretLeak[] {
  if (!secrets.length) return [];
  const byVariable = new Map(secrets.map((s) => [paramVariable(s), s]));
  if (!seeds.length && ![...byVariable.keys()].some((v) => text.includes(v))) return [];
  const contexts = shellContexts(text);
  const refs = [...text.matchAll(REFERENCE)]
    .filter((m) => ['code', 'double'].includes(contexts.contextAt(m.index)))
    .map((m) => ({ name: (m[1] ?? m[2])!, start: m.index, end: m.index + m[0].length }));
  const seedOf = (at: number) => seeds.find((s) => at >= s.start && at < s.end);
  for (const ref of refs) {
    const seed = seedOf(ref.start);
    if (seed) byVariable.set(ref.name, seed.param);
  }
  const tainted = byVariable;
  const hasPositional = () => [...tainted.keys()].some((k) => /^\d+$/.test(k));
  const paramIn = (start: number, end: number): string | undefined => {
    for (const ref of refs) {
      if (ref.start < start || ref.start >= end) continue;
      const param = tainted.get(ref.name);
      if (param) return param;
      if ((ref.name === '@' || ref.name === '*') && hasPositional())
        return [...tainted.entries()].find(([k]) => /^\d+$/.test(k))![1];
    }
    return undefined;
  };
  const flows = secretFlows(text);
  // Each round can only add a name: at most one round per flow, and one to see nothing changed.
  for (let round = 0; round <= flows.length; round++) {
    const before = tainted.size;
    for (const flow of flows) {
      if (flow.kind === 'assign') {
        const param = paramIn(flow.start, flow.end);
        if (param && !tainted.has(flow.name)) tainted.set(flow.name, param);
      } else if (flow.kind === 'set') {
        flow.words.forEach((w, i) => {
          const param = paramIn(w.start, w.end);
          if (param && !tainted.has(String(i + 1))) tainted.set(String(i + 1), param);
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
  const leaks: SecretLeak[] = [];
  for (const ref of refs) {
    if (seedOf(ref.start)) continue;
    const param = paramIn(ref.start, ref.start + 1);
    if (!param) continue;
    const word = commandWordAt(text, ref.start);
    if (word?.role === 'argument')
      leaks.push({
        param,
        variable: ref.name,
        start: ref.start,
        end: ref.end,
        ...(word.command ? { command: word.command } : {}),
      });
  }
  return leaks;
}

/** `$NAME`, `${NAME…}`, `$1`, `${12}`, `$@`, `"$*"`. */
const REFERENCE = /\$\{([A-Za-z_]\w*|\d+|[@*])[^}]*\}|\$([A-Za-z_]\w*|\d|[@*])/g;

type Flow =
  | { kind: 'assign'; name: string; start: number; end: number }
  | { kind: 'set'; words: { start: number; end: number }[] }
  | { kind: 'shift'; count: number };

const DECLARATIONS = new Set(['export', 'readonly', 'local', 'declare', 'typeset']);

/** How values move between variables: assignments, `set -- WORDS`, `shift N`. */
function secretFlows(text: string): Flow[] {
  const flows: Flow[] = [];
  for (const { words, name } of simpleCommandWords(text)) {
    const command = words[name]?.word;
    const assignments = words.slice(0, name);
    if (command && DECLARATIONS.has(command)) assignments.push(...words.slice(name + 1));
    for (const w of assignments) {
      const m = /^([A-Za-z_]\w*)=/.exec(w.word);
      if (m) flows.push({ kind: 'assign', name: m[1]!, start: w.at + m[0].length, end: w.end });
    }
    const args = words.slice(name + 1);
    if (command === 'set') {
      const dashes = args.findIndex((w) => w.word === '--');
      const operands =
        dashes >= 0 ? args.slice(dashes + 1) : /^[-+]/.test(args[0]?.word ?? '-') ? [] : args;
      flows.push({ kind: 'set', words: operands.map((w) => ({ start: w.at, end: w.end })) });
    }
    if (command === 'shift')
      flows.push({
        kind: 'shift',
        count: /^\d+$/.test(args[0]?.word ?? '') ? Number(args[0]!.word) : 1,
      });
  }
  return flows;
}

/** The runner's variable of a param (as @opsbook/exec's paramEnvName names it). */
export function paramVariable(name: string): string {
  return `OPSBOOK_PARAM_${name.toUpperCase()}`;
}
