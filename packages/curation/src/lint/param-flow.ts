import { shellContexts } from '@opsbook/schema';
import { fileReads } from './file-flow.js';
import { hereDocuments } from './here-documents.js';
import {
  argvWordAt,
  commandWordAt,
  isDigested,
  outputWordAt,
  shellFunctions,
  simpleCommandWords,
} from './shell-commands.js';
import { argvInputs } from './stdin-sources.js';
import { DECLARATIONS, valueFlows } from './value-flows.js';

/** A param's value expanded where the shell hands it to a program. */
export interface ParamUse {
  param: string;
  /** The variable expanded there (`OPSBOOK_PARAM_TOKEN`, `token`, `2`, `@`). */
  variable: string;
  start: number;
  end: number;
  command?: string;
  /**
   * Printed by a command rather than expanded (`what env prints`): judged where that output
   * goes, a `$(…)` or xargs.
   */
  through?: string;
}

/**
 * Where a secret param reaches a program's arguments (its argv, which ps shows to every user of
 * the host), through the variables it is handed to (`paramReferences`).
 */
export function secretsInArguments(
  script: string,
  secrets: readonly string[],
  seeds: readonly { start: number; end: number; param: string }[] = [],
): ParamUse[] {
  // `printenv T` prints what `$T` holds: read as `echo $T` (same length, so the same places).
  const named = printenvByName(script);
  const text = named.text;
  // An Ansible Vault encrypted host var reaches a step as $OPSBOOK_VAULT_<name> (@opsbook/exec's
  // vaultEnvName): secret by definition, whatever the runbook declares. Its use is `vault:<name>`
  // (a param's name has no colon).
  const vaulted = new Map(
    [...text.matchAll(/OPSBOOK_VAULT_(\w+)/g)].map((m) => [m[0], `${VAULT_PREFIX}${m[1]}`]),
  );
  const refs = [
    ...paramReferences(text, secrets, seeds, vaulted, true).map((ref) =>
      named.dollars.has(ref.start) ? { ...ref, start: ref.start + 1 } : ref,
    ),
  ];
  if (!refs.length && !seeds.length) return [];
  // xargs makes arguments of what it reads (`echo "$T" | xargs curl -H`), a shell of the code
  // it reads (`printf 'curl -u %s …' "$T" | sh`).
  const sinks = argvInputs(text);
  const sinkOf = (at: number) => {
    const sink = sinks.find((x) => at >= x.start && at < x.end);
    return sink && !isDigested(text, at, sink.end) ? sink : undefined;
  };
  // A run: block's placeholder there (`xargs curl -u <<< {{ params.token }}`): the placeholder
  // rule judges only the word it stands in (and reports it where that is an argument).
  const fedSeeds = seeds.flatMap((seed) => {
    const sink = sinkOf(seed.start);
    const role = sink && argvWordAt(text, seed.start)?.role;
    if (!sink || role === 'assignment' || role === 'argument') return [];
    const isParam = !seed.param.includes(':');
    return [
      {
        param: seed.param,
        variable: isParam ? paramVariable(seed.param) : seed.param,
        start: seed.start,
        end: seed.end,
        command: sink.command,
        ...(isParam ? {} : { through: 'its value' }),
      },
    ];
  });
  return [
    ...fedSeeds,
    ...refs.flatMap((ref) => {
      // What a command prints (`env`, `declare -p T`) is no word where it stands.
      const word = ref.through ? outputWordAt(text, ref.start) : argvWordAt(text, ref.start);
      if (word?.role === 'argument')
        return [{ ...ref, ...(word.command ? { command: word.command } : {}) }];
      const sink = sinkOf(ref.start);
      if (sink?.shell) {
        // `bash <<EOF`: the body is code, its words judged where the body puts them.
        const inner = argvWordAt(text.slice(sink.start, sink.end), ref.start - sink.start);
        return inner?.role === 'argument'
          ? [
              {
                ...ref,
                command: `${inner.command ?? 'a command'} (in the code ${sink.shell} reads)`,
              },
            ]
          : [];
      }
      return sink && (word?.role !== 'assignment' || printsEnvironment(text, ref.start))
        ? [{ ...ref, command: sink.command }]
        : [];
    }),
  ].sort((a, b) => a.start - b.start);
}

/**
 * `text` with each `printenv NAME` that starts a command written `echo $NAME` (the same length):
 * printenv prints the variable it is named, from its environment (a param's own
 * `OPSBOOK_PARAM_*`, or one exported), so its output holds what `$NAME` does. `dollars`: where
 * each `$` written stands, one before the name.
 */
function printenvByName(text: string): { text: string; dollars: Set<number> } {
  const dollars = new Set<number>();
  const rewritten = text.replace(
    /(?<=(?:^|[\n;&|(`{])[ \t]*)printenv([ \t]+)([A-Za-z_]\w*)(?![\w=])/g,
    (_m, blanks: string, name: string, at: number) => {
      const dollar = at + 'printenv'.length + blanks.length - 1;
      dollars.add(dollar);
      return `echo${' '.repeat(dollar - at - 4)}$${name}`;
    },
  );
  return { text: rewritten, dollars };
}

/** A spot where a command prints variables' values: their names, and what prints them. */
interface Print {
  at: number;
  end: number;
  /** The variables printed; undefined: every variable of the environment (or of the shell). */
  names?: string[];
  through: string;
}

/**
 * Where a command prints variables, secret params among them: `env` (no program to run) and
 * `printenv` (no name) print the environment, `set` (no word), `export`, `declare`, `typeset`,
 * `readonly` (no name, or only options: `export -p`, `declare -x`) the shell's variables, `declare
 * -p NAME` the variables it names; `/proc/…/environ` named anywhere holds the environment.
 */
function variablePrints(text: string): Print[] {
  if (!/\b(?:env|printenv|set|export|declare|typeset|readonly|local)\b|\/environ\b/.test(text))
    return [];
  return simpleCommandWords(text).flatMap(({ words, name }): Print[] => {
    const prints: Print[] = words
      .filter((w) => /^(?:\d*<)?["']?\/proc\/[^/\s]+\/environ["']?$/.test(w.word))
      .map((w) => ({ at: w.at, end: w.end, through: 'what /proc/…/environ holds' }));
    const command = words[name];
    if (!command) return prints;
    const rest = words.slice(name + 1).filter((w) => !/^\d*[<>]/.test(w.word));
    const program = command.word.split('/').pop()!;
    const options = rest.filter((w) => w.word.startsWith('-')).map((w) => w.word);
    const operands = rest.filter((w) => !w.word.startsWith('-'));
    const whole = { at: command.at, end: command.end, through: `what ${program} prints` };
    if (program === 'printenv' && !operands.length) return [...prints, whole];
    if (program === 'env' && operands.every((w) => /^[A-Za-z_]\w*=/.test(w.word)))
      return [...prints, whole];
    if (program === 'set' && !rest.length && command.word === 'set') return [...prints, whole];
    if (!DECLARATIONS.has(command.word) || options.some((o) => /^-\w*[fF]/.test(o))) return prints;
    if (!operands.length) return [...prints, whole];
    // `declare -p NAME`: NAME's value, quoted, on the output.
    if (options.some((o) => /^-\w*p/.test(o)))
      return [
        ...prints,
        ...operands
          .filter((w) => /^[A-Za-z_]\w*$/.test(w.word))
          .map((w) => ({
            at: w.at,
            end: w.end,
            names: [w.word],
            through: `what ${command.word} -p prints`,
          })),
      ];
    return prints;
  });
}

/**
 * Whether the spot `at` is in an assignment word before `printenv`, or before `env` with no
 * program to run: those print their environment, so what they are given there is their output
 * (`T="$T" printenv T | xargs curl -u`), not only their environment.
 */
function printsEnvironment(text: string, at: number): boolean {
  for (const { words, name } of simpleCommandWords(text)) {
    const i = words.findIndex((w) => at >= w.at && at < w.end);
    if (i < 0) continue;
    if (i >= name) return false;
    const command = words[name]?.word.split('/').pop();
    if (command === 'printenv') return true;
    return (
      command === 'env' &&
      words.slice(name + 1).every((w) => /^-|^[A-Za-z_]\w*=|^\d*[<>]/.test(w.word))
    );
  }
  return false;
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
    return word?.role === 'argument' || word?.isFunctionCall
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
  /** Also where commands print their values (`env`, `declare -p T`): `through` says how. */
  withPrints = false,
): Omit<ParamUse, 'command'>[] {
  if (!params.length && !variables.size && !seeds.length) return [];
  const tainted = new Map([...params.map((s) => [paramVariable(s), s] as const), ...variables]);
  const prints = withPrints ? variablePrints(text) : [];
  if (!seeds.length && !prints.length && ![...tainted.keys()].some((v) => text.includes(v)))
    return [];
  const contexts = shellContexts(text);
  // An unquoted here-document delimiter: the shell expands the body (`\$X` is text).
  const bodies = hereDocuments(text).filter((d) => d.expands);
  const isExpanded = (at: number) => {
    const kind = contexts.contextAt(at);
    if (kind === 'code' || kind === 'double') return true;
    return (
      kind === 'heredoc' &&
      text[at - 1] !== '\\' &&
      bodies.some((d) => at >= d.bodyStart && at < d.bodyEnd)
    );
  };
  const everyVariable = [...tainted.keys()];
  const refs: {
    name: string;
    isIndirect: boolean;
    start: number;
    end: number;
    through?: string;
  }[] = [...text.matchAll(REFERENCE)]
    .filter((m) => isExpanded(m.index))
    .flatMap((m) => {
      const ref = {
        name: (m[1] ?? m[2] ?? m[3])!,
        isIndirect: m[1] !== undefined,
        start: m.index,
        end: m.index + m[0].length,
      };
      if (m[2] === undefined) return [ref];
      // What a `${V…}` expands to may be another variable's value: `${V:-$T}`, `${V:=$T}`.
      const from = m.index + 2 + m[2].length;
      const inner = [...text.slice(from, ref.end - 1).matchAll(REFERENCE)].map((n) => ({
        name: (n[1] ?? n[2] ?? n[3])!,
        isIndirect: n[1] !== undefined,
        start: from + n.index,
        end: from + n.index + n[0].length,
      }));
      return [ref, ...inner];
    });
  for (const print of prints)
    for (const name of print.names ?? everyVariable)
      refs.push({
        name,
        isIndirect: false,
        start: print.at,
        end: print.end,
        through: print.through,
      });
  const functions = shellFunctions(text);
  const flows = valueFlows(text, functions);
  // A file a command writes is read back where the text reads it: `>f` holds what was written.
  if (withPrints) {
    const files = new Set(
      flows.flatMap((f) => (f.kind === 'assign' && f.name.startsWith('>') ? [f.name] : [])),
    );
    for (const read of fileReads(text, files))
      refs.push({
        name: read.name,
        isIndirect: false,
        start: read.at,
        end: read.end,
        through: read.through,
      });
  }
  const seedOf = (at: number) => seeds.find((s) => at >= s.start && at < s.end);
  for (const ref of refs) {
    const seed = seedOf(ref.start);
    if (seed) tainted.set(ref.name, seed.param);
  }
  // A variable that holds a param's variable's name: `${!n}` after `n=OPSBOOK_PARAM_TOKEN`.
  const pointers = new Map<string, string>();
  // A function's positional params are its own (`f() { curl -u "$1"; }; f "$T"`): `f:1`.
  const functionAt = (at: number) =>
    functions.find((f) => at >= f.bodyStart && at < f.bodyEnd)?.name;
  const positional = (scope: string) =>
    [...tainted.entries()].find(
      ([k]) => k.startsWith(scope) && /^\d+$/.test(k.slice(scope.length)),
    )?.[1];
  const paramOf = (ref: { name: string; isIndirect: boolean; start: number }) => {
    if (ref.isIndirect) return pointers.get(ref.name);
    const fn = /^(?:\d+|[@*])$/.test(ref.name) ? functionAt(ref.start) : undefined;
    const scope = fn === undefined ? '' : `${fn}:`;
    return (
      tainted.get(`${scope}${ref.name}`) ??
      (ref.name === '@' || ref.name === '*' ? positional(scope) : undefined)
    );
  };
  // What a pipe carries is what its commands print: a secret in an assignment word there
  // (`PGPASSWORD="$T" psql -Atc … | while read -r host`) is in their environment, not their output.
  const roles = new Map<number, string | undefined>();
  const isAssignment = (at: number) => {
    if (!roles.has(at)) roles.set(at, argvWordAt(text, at)?.role);
    return roles.get(at) === 'assignment' && !printsEnvironment(text, at);
  };
  /** What a reference in `start`…`end` points to, as `${!n}` does (a variable holding a name). */
  const pointerIn = (start: number, end: number): string | undefined => {
    for (const ref of refs) {
      if (ref.start < start || ref.start >= end || ref.isIndirect || ref.through) continue;
      const fn = /^(?:\d+|[@*])$/.test(ref.name) ? functionAt(ref.start) : undefined;
      const pointed = pointers.get(`${fn === undefined ? '' : `${fn}:`}${ref.name}`);
      if (pointed) return pointed;
    }
    return undefined;
  };
  // By place, so that a range's references are found by a binary search (lint reads long scripts).
  refs.sort((a, b) => a.start - b.start);
  const firstAt = (start: number) => {
    let lo = 0;
    let hi = refs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (refs[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const paramIn = (start: number, end: number, isOutput = false): string | undefined => {
    for (let k = firstAt(start); k < refs.length && refs[k]!.start < end; k++) {
      const ref = refs[k]!;
      const param = paramOf(ref);
      if (param && !(isOutput && isAssignment(ref.start)) && !isDigested(text, ref.start, end))
        return param;
    }
    return undefined;
  };
  const optargs = optargAssignments(text);
  // Each round can only add a name: at most one round per flow, and one to see nothing changed.
  for (let round = 0; round <= flows.length; round++) {
    const before = tainted.size + pointers.size;
    for (const flow of flows) {
      if (flow.kind === 'assign') {
        const param = paramIn(flow.start, flow.end, flow.isOutput);
        const value = text.slice(flow.start, flow.end).replace(/^(["']?)(\w+)\1$/, '$2');
        const pointed = tainted.get(value);
        if (pointed && !pointers.has(flow.name)) pointers.set(flow.name, pointed);
        if (flow.isNameref) {
          // The variable named by the value: `tok`, or `$1` holding a name (`f OPSBOOK_PARAM_X`).
          const named = pointed ?? pointerIn(flow.start, flow.end);
          if (named && !tainted.has(flow.name)) tainted.set(flow.name, named);
        } else if (param && !tainted.has(flow.name)) tainted.set(flow.name, param);
      } else if (flow.kind === 'call') {
        flow.words.forEach((w, i) => {
          const param = paramIn(w.start, w.end);
          const name = `${flow.function}:${i + 1}`;
          if (param && !tainted.has(name)) tainted.set(name, param);
          // A secret's variable's name (`f OPSBOOK_PARAM_TOKEN`): for `local -n r=$1` there.
          const pointed = tainted.get(text.slice(w.start, w.end).replace(/^(["']?)(\w+)\1$/, '$2'));
          if (pointed && !pointers.has(name)) pointers.set(name, pointed);
        });
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
        // A shift in a function's body moves that function's positional params (`f:2` to `f:1`).
        const fn = functionAt(flow.at);
        const scope = fn === undefined ? '' : `${fn}:`;
        for (const [name, param] of [...tainted]) {
          const position = name.startsWith(scope) ? name.slice(scope.length) : '';
          if (/^\d+$/.test(position) && Number(position) > flow.count) {
            const moved = `${scope}${Number(position) - flow.count}`;
            if (!tainted.has(moved)) tainted.set(moved, param);
          }
        }
      }
    }
    if (tainted.size + pointers.size === before) break;
  }
  return refs.flatMap((ref) => {
    const param = seedOf(ref.start) ? undefined : paramOf(ref);
    if (!param) return [];
    const use = { param, variable: ref.name, start: ref.start, end: ref.end };
    return [ref.through ? { ...use, through: ref.through } : use];
  });
}

/** `${!NAME}` (bash's indirection), `$NAME`, `${NAME…}`, `$1`, `${12}`, `$@`, `"$*"`. */
const REFERENCE =
  /\$\{!([A-Za-z_]\w*)\}|\$\{([A-Za-z_]\w*|\d+|[@*])[^}]*\}|\$([A-Za-z_]\w*|\d|[@*])/g;

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
