import { shellContexts } from '@opsbook/schema';
import { substitutions } from './command-substitutions.js';
import { hereDocuments } from './here-documents.js';
import {
  argvWordAt,
  callsShellFunction,
  commandWordAt,
  groupBefore,
  hereDocumentBodies,
  isDigested,
  isPipeSubshell,
  loopInput,
  outputSubstitutionWriter,
  outputWordAt,
  pipedInto,
  processSubstitutionAt,
  processSubstitutionInputs,
  type ShellFunction,
  shellFunctions,
  simpleCommandWords,
} from './shell-commands.js';

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

/** The declarations, which print variables when given no name, or -p. */
const PRINTING_DECLARATIONS = new Set(['export', 'declare', 'typeset', 'readonly', 'local']);

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
    if (!PRINTING_DECLARATIONS.has(command.word) || options.some((o) => /^-\w*[fF]/.test(o)))
      return prints;
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
 * Inputs that become a program's arguments, with what to call that program: the stdin of each
 * `xargs` (a pipe into it, a here-string, …; `curl (by xargs)`), and shell code a shell reads
 * (`… | sh`, `bash <<EOF`, `source <(…)`, `. FILE`, `bash FILE`: the commands in that code get
 * what it holds in their argv).
 */
function argvInputs(text: string): ArgvInput[] {
  // `… | curl -u "$(cat)"`: a substitution in an argument that reads the command's stdin.
  const inputs: ArgvInput[] = stdinReadBySubstitution(text);
  for (const { words, name } of simpleCommandWords(text)) {
    const program = words[name]?.word.split('/').pop();
    const args = words.slice(name + 1);
    if (program === 'xargs') {
      let k = 0;
      const files: { start: number; end: number }[] = [];
      while (k < args.length && args[k]!.word.startsWith('-')) {
        // `-a FILE`, `--arg-file=FILE`: xargs reads that file instead of stdin.
        const file = /^(?:-a|--arg-file=?)(.*)$/.exec(args[k]!.word);
        if (file?.[1]) files.push({ start: args[k]!.end - file[1].length, end: args[k]!.end });
        else if (file && args[k + 1]) files.push({ start: args[k + 1]!.at, end: args[k + 1]!.end });
        // Options that take their value as the next word.
        k += /^(?:-[IdELnPsa]|--arg-file)$/.test(args[k]!.word) ? 2 : 1;
      }
      const command = `${args[k]?.word.split('/').pop() ?? 'echo'} (by xargs)`;
      for (const source of files.length ? files : stdinSources(text, words))
        inputs.push({ ...source, command });
      continue;
    }
    // GNU parallel reads its arguments from stdin as xargs does, unless given `:::`.
    if (program === 'parallel' && !args.some((w) => /^::::?\+?$/.test(w.word))) {
      const command = `${
        args
          .find((w) => !w.word.startsWith('-'))
          ?.word.split('/')
          .pop() ?? 'echo'
      } (by parallel)`;
      for (const source of stdinSources(text, words)) inputs.push({ ...source, command });
      continue;
    }
    const isSource = program === '.' || program === 'source';
    if (!isSource && !SHELLS.has(program ?? '')) continue;
    const command = `the commands ${program} reads as code`;
    // `sh -c CODE`: the code is an argument already, and stdin is data.
    if (!isSource && args.some((w) => /^-[A-Za-z]*c/.test(w.word))) continue;
    const operands = args.filter((w, i) => isOperand(w.word, args[i - 1]?.word));
    // `source <(…)`, `bash <(…)`: the process substitution's text is the code.
    const substituted = args.flatMap((w) => {
      const sub = processSubstitutionAt(text, w.at);
      return sub ? [sub] : [];
    });
    const file = operands[0];
    if (substituted.length) for (const sub of substituted) inputs.push({ ...sub, command });
    else if (file && file.word !== '/dev/stdin')
      inputs.push({ start: file.at, end: file.end, command });
    else if (!isSource || file) {
      // A here-document's body is the code itself, as written: judged as such.
      const bodies = hereDocumentBodies(text, words[0]!.at, words.at(-1)!.end);
      for (const source of stdinSources(text, words)) {
        const isCode = bodies.some((b) => b.start === source.start && b.end === source.end);
        inputs.push({ ...source, command, ...(isCode ? { shell: program! } : {}) });
      }
    }
  }
  return inputs;
}

interface ArgvInput {
  start: number;
  end: number;
  /** What gets it in its argv (`curl (by xargs)`, `the commands sh reads as code`). */
  command: string;
  /** The input is a here-document's body that this shell runs: its words are judged there. */
  shell?: string;
}

/** Filters that print what they read on stdin when given no file (`sed`, `grep`: a script). */
const STDIN_PRINTERS = new Map([
  ...['cat', 'head', 'tail', 'base64', 'base32', 'xxd', 'cut', 'sort', 'uniq', 'rev', 'tac'].map(
    (p) => [p, 0] as const,
  ),
  ...['sed', 'grep', 'awk', 'jq', 'tr'].map((p) => [p, p === 'tr' ? 2 : 1] as const),
]);

/**
 * The stdin of a command whose argument holds a `$(…)` that reads it (`… | curl -u "$(cat)"`:
 * the substitution runs with the command's stdin): it reaches that argument.
 */
function stdinReadBySubstitution(text: string): ArgvInput[] {
  const subs = substitutions(text);
  if (!subs.length) return [];
  const commands = simpleCommandWords(text);
  return subs.flatMap((sub) => {
    const first = simpleCommandWords(text.slice(sub.contentStart, sub.contentEnd))[0];
    const reader = first?.words[first.name];
    const program = reader?.word.split('/').pop() ?? '';
    // Operands, the values of `-n 1`, `-d ,`, `-f 2`, `-k 1` aside.
    const operands = first?.words
      .slice(first.name + 1)
      .filter(
        (w, i, all) =>
          isOperand(w.word, all[i - 1]?.word) && !/^-[nckdftw]$/.test(all[i - 1]?.word ?? ''),
      );
    const isReading =
      (STDIN_PRINTERS.has(program) && (operands?.length ?? 0) <= STDIN_PRINTERS.get(program)!) ||
      program === 'read';
    if (!isReading || first!.words.some((w) => /^\d*</.test(w.word))) return [];
    const word = argvWordAt(text, sub.start);
    if (word?.role !== 'argument') return [];
    // The command the substitution is a word of: the last one to start before it on its list.
    const command = commands.filter((c) => c.words[0]!.at < sub.start).at(-1);
    if (!command || /[;&|\n]/.test(text.slice(command.words.at(-1)!.end, sub.start))) return [];
    const name = `${word.command ?? 'a command'} (through a $(…) reading its stdin)`;
    return ownStdinSources(text, command.words).map((source) => ({ ...source, command: name }));
  });
}

/** Shells, which run the code they read from a file or stdin. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh']);

/** The input of the `while`/`until` loop whose condition is the command of `words`, if any. */
function loopInputOf(
  text: string,
  words: readonly { at: number }[],
): { start: number; end: number }[] {
  const input = words[0] ? loopInput(text, words[0].at) : undefined;
  return input ? [input] : [];
}

/**
 * Where a command's stdin comes from in the text: its own (ownStdinSources), and that of each
 * group, `if` or loop around it that is given one (`{ read -r t; } <<< "$T"`, `fi < f`).
 */
function stdinSources(
  text: string,
  words: readonly { word: string; at: number; end: number }[],
): { start: number; end: number }[] {
  const at = words[0]?.at ?? -1;
  return [
    ...ownStdinSources(text, words),
    ...compoundInputs(text).flatMap((c) =>
      at >= c.group.start && at < c.group.end ? c.sources : [],
    ),
  ];
}

/** The groups, `if`s and loops of `text` given a stdin (`} <<< WORD`, `fi < f`), with it. */
function compoundInputs(
  text: string,
): { group: { start: number; end: number }; sources: { start: number; end: number }[] }[] {
  const kept = compoundsOf.get(text);
  if (kept) return kept;
  const compounds = simpleCommandWords(text).flatMap(({ words, name }) => {
    if (name !== words.length || !/^0?</.test(words[0]?.word ?? '')) return [];
    const group = groupBefore(text, words[0]!.at);
    return group ? [{ group, sources: ownStdinSources(text, words) }] : [];
  });
  if (compoundsOf.size >= 16) compoundsOf.delete(compoundsOf.keys().next().value!);
  compoundsOf.set(text, compounds);
  return compounds;
}
const compoundsOf = new Map<string, ReturnType<typeof compoundInputs>>();

/**
 * Where a command's own stdin comes from in the text: a here-string's word, a pipe into it, or a
 * process substitution redirected into it (`< <(…)`).
 */
function ownStdinSources(
  text: string,
  words: readonly { word: string; at: number; end: number }[],
): { start: number; end: number }[] {
  const sources: { start: number; end: number }[] = [];
  words.forEach((w, i) => {
    if (w.word === '<<<' && words[i + 1])
      sources.push({ start: words[i + 1]!.at, end: words[i + 1]!.end });
    else if (w.word.startsWith('<<<')) sources.push({ start: w.at + 3, end: w.end });
  });
  const piped = words[0] ? pipedInto(text, words[0].at) : undefined;
  if (piped) sources.push(piped);
  // `printf … "$T" > >(xargs curl -u)`: what the command around the `>(…)` prints.
  const around = words[0] ? outputSubstitutionWriter(text, words[0].at) : undefined;
  if (around) sources.push(around);
  sources.push(...processSubstitutionInputs(text, words));
  // `read -r x < FILE`, `< FILE xargs …`: the file's name, where its content is read.
  for (const file of inputFiles(words)) sources.push({ start: file.at, end: file.end });
  // Its own here-documents (`xargs curl -u <<EOF`), and those of the commands feeding it.
  const last = words.at(-1);
  if (last) sources.push(...hereDocumentBodies(text, words[0]!.at, last.end));
  for (const s of [...sources]) sources.push(...hereDocumentBodies(text, s.start, s.end));
  return sources;
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

type Flow =
  | {
      kind: 'assign';
      name: string;
      start: number;
      end: number;
      isOutput?: boolean;
      /** `declare -n`: the value is the name of the variable it stands for. */
      isNameref?: boolean;
    }
  | { kind: 'call'; function: string; words: { start: number; end: number }[] }
  | { kind: 'set'; words: { start: number; end: number; text: string }[] }
  /** `at`: where the shift stands (in a function's body, it moves that function's params). */
  | { kind: 'shift'; count: number; at: number };

const DECLARATIONS = new Set(['export', 'readonly', 'local', 'declare', 'typeset']);

/** How values move between variables: assignments, `set -- WORDS`, `shift N`. */
function valueFlows(text: string, functions: readonly ShellFunction[]): Flow[] {
  const flows: Flow[] = [];
  for (const { words, name } of simpleCommandWords(text)) {
    const command = words[name]?.word;
    // `read -r X <<< "$T"`, `printf … "$T" | { read -r X; …`: X holds what it reads.
    // At the end of a pipe they run in a subshell (no lastpipe): nothing they set is left.
    const isGone = () => isPipeSubshell(text, words[0]!.at);
    if (command === 'read' && !isGone())
      for (const source of [...stdinSources(text, words), ...loopInputOf(text, words)])
        for (const variable of readVariables(words.slice(name + 1).map((w) => w.word)))
          flows.push({ kind: 'assign', name: variable, ...source, isOutput: true });
    // `mapfile -t A <<< "$T"`, `… | readarray A`: the array holds the lines it reads.
    if ((command === 'mapfile' || command === 'readarray') && !isGone())
      for (const source of stdinSources(text, words))
        flows.push({
          kind: 'assign',
          name: mapfileArray(words.slice(name + 1).map((w) => w.word)),
          ...source,
          isOutput: true,
        });
    if (command && callsShellFunction(functions, command, words[name]!.at, text, true))
      flows.push({
        kind: 'call',
        function: command,
        words: words
          .slice(name + 1)
          .filter((w) => !/^\d*[<>]/.test(w.word))
          .map((w) => ({ start: w.at, end: w.end })),
      });
    const assignments = words.slice(0, name);
    if (command && DECLARATIONS.has(command)) assignments.push(...words.slice(name + 1));
    // `declare -n R=NAME`, `local -n R=$1`: R is another name of the variable NAME.
    const isNameref =
      command !== undefined &&
      DECLARATIONS.has(command) &&
      words.slice(name + 1).some((w) => /^-\w*n/.test(w.word));
    for (const w of assignments) {
      const m = /^([A-Za-z_]\w*)(?:\[[^\]\s]*\])?\+?=/.exec(w.word);
      if (!m) continue;
      const start = w.at + m[0].length;
      // The value whole: a command substitution in it (`auth=$(printf … "$TOKEN" | base64)`)
      // is read as commands of their own, which end the assignment word early; an array's
      // words (`args=(-u "$T")`) too.
      flows.push({
        kind: 'assign',
        name: m[1]!,
        start,
        end: text[start] === '(' ? arrayEnd(text, start) : Math.max(w.end, wordEnd(text, start)),
        ...(isNameref ? { isNameref } : {}),
      });
    }
    // What a command prints into a file (`echo "$T" > f`, `… | tee -a f`), the file holds:
    // its words and what it reads on stdin.
    const program = words[name]?.word.split('/').pop();
    const written = [
      ...(program ? outputFiles(words) : []),
      ...(program === 'tee'
        ? words.slice(name + 1).filter((w, i, all) => isOperand(w.word, all[i - 1]?.word))
        : []),
    ];
    // `{ …; } > f`, `( … ) > f`, `done > f`, `fi > f`: the file holds what the group prints.
    if (name === words.length && /^(?:\d*|&)>/.test(words[0]?.word ?? '')) {
      const group = groupBefore(text, words[0]!.at);
      if (group)
        for (const file of outputFiles(words))
          flows.push({ kind: 'assign', name: fileVariable(file.word), ...group, isOutput: true });
    }
    for (const file of written) {
      const from = [
        ...(program === 'tee' ? [] : [{ start: words[name]!.at, end: words.at(-1)!.end }]),
        ...stdinSources(text, words),
      ];
      for (const source of from)
        flows.push({ kind: 'assign', name: fileVariable(file.word), ...source, isOutput: true });
    }
    // `exec 3<<<"$T"`, `exec 3<<EOF`: descriptor 3 reads it (`read -r x <&3`).
    if (program === 'exec')
      words.slice(name + 1).forEach((w, i, all) => {
        const m = /^(\d+)(<<<|<<-?)(.*)$/.exec(w.word);
        const file = m && descriptorFile(m[1]!);
        if (!m || !file) return;
        const next = all[i + 1];
        const from =
          m[2] === '<<<'
            ? m[3]
              ? [{ start: w.end - m[3].length, end: w.end }]
              : next
                ? [{ start: next.at, end: next.end }]
                : []
            : hereDocumentBodies(text, w.at, w.end);
        for (const source of from)
          flows.push({ kind: 'assign', name: fileVariable(file), ...source, isOutput: true });
      });
    // `cp SRC DST`, `mv SRC DST`: DST holds what SRC did.
    const operands = words
      .slice(name + 1)
      .filter((w, i, all) => isOperand(w.word, all[i - 1]?.word));
    if ((program === 'cp' || program === 'mv') && operands.length === 2)
      flows.push({
        kind: 'assign',
        name: fileVariable(operands[1]!.word),
        start: operands[0]!.at,
        end: operands[0]!.end,
        isOutput: true,
      });
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
    // `${NAME:=WORD}`, `${NAME=WORD}`: NAME holds WORD when it was unset (or empty).
    for (const w of words)
      for (const m of w.word.matchAll(/\$\{([A-Za-z_]\w*):?=([^}]*)\}/g)) {
        const start = w.at + m.index + m[0].length - 1 - m[2]!.length;
        flows.push({ kind: 'assign', name: m[1]!, start, end: start + m[2]!.length });
      }
    // `for NAME in WORDS`: NAME holds each of the words in turn.
    if (command === 'for' && args[1]?.word === 'in' && /^[A-Za-z_]\w*$/.test(args[0]?.word ?? ''))
      for (const w of args.slice(2))
        flows.push({ kind: 'assign', name: args[0]!.word, start: w.at, end: w.end });
    if (command === 'shift')
      flows.push({
        kind: 'shift',
        count: /^\d+$/.test(args[0]?.word ?? '') ? Number(args[0]!.word) : 1,
        at: words[name]!.at,
      });
  }
  return flows;
}

/** What stands for a file's content among the variables: `>f` (no variable has that name). */
function fileVariable(word: string): string {
  return `>${word.replace(/["']/g, '').replace(/^(?:\.\/)+/, '')}`;
}

/** A word of a command that is neither an option nor a redirection (nor a redirection's file). */
function isOperand(word: string, previous: string | undefined): boolean {
  return (
    !word.startsWith('-') &&
    !/^\d*[<>&]/.test(word) &&
    !/^\d*(?:<<<|<<-?|<>|>>|>\||>&|<&|&>>?|<|>)$/.test(previous ?? '')
  );
}

/**
 * A file descriptor a redirection names, as a file of its own (`&3`), or a coprocess's pair of
 * them (`"${COPROC[1]}"`, `${B[0]}`: `&COPROC`, what it is given comes out of it); undefined for
 * 0, 1, 2 and `-`.
 */
function descriptorFile(target: string): string | undefined {
  const bare = target.replace(/["']/g, '');
  if (/^\d+$/.test(bare)) return Number(bare) >= 3 ? `&${bare}` : undefined;
  const coprocess = /^\$\{([A-Za-z_]\w*)\[[01]\]\}$/.exec(bare)?.[1];
  return coprocess ? `&${coprocess}` : undefined;
}

/** The descriptors a command writes (`>&3`, `>&"${COPROC[1]}"`) or reads (`<&3`), as files. */
function descriptorFiles(
  words: readonly { word: string; at: number; end: number }[],
  operator: '>' | '<',
): { word: string; at: number; end: number }[] {
  return words.flatMap((w, i) => {
    const m = new RegExp(`^\\d*${operator}&(.*)$`).exec(w.word);
    if (!m) return [];
    const target = m[1] || words[i + 1]?.word;
    const file = target === undefined ? undefined : descriptorFile(target);
    return file ? [{ word: file, at: w.at, end: m[1] ? w.end : words[i + 1]!.end }] : [];
  });
}

/** The files a command's stdout is redirected to (`> f`, `>>"$f"`, `&> f`; not /dev/…). */
function outputFiles(
  words: readonly { word: string; at: number; end: number }[],
): { word: string; at: number; end: number }[] {
  return [...descriptorFiles(words, '>'), ...outputFileWords(words)];
}

function outputFileWords(
  words: readonly { word: string; at: number; end: number }[],
): { word: string; at: number; end: number }[] {
  return words.flatMap((w, i) => {
    const m = /^(?:1|&)?(?:>>?|>\|)(?!&)(.*)$/.exec(w.word);
    if (!m) return [];
    const file = m[1] ? { word: m[1], at: w.end - m[1].length, end: w.end } : words[i + 1];
    return file && !/^["']?\/dev\//.test(file.word) ? [file] : [];
  });
}

/** The files a command reads on stdin (`< f`, `<"$f"`, `<&3`; not `<<`, `<<<`, `< <(…)`). */
function inputFiles(
  words: readonly { word: string; at: number; end: number }[],
): { word: string; at: number; end: number }[] {
  return [...descriptorFiles(words, '<'), ...inputFileWords(words)];
}

function inputFileWords(
  words: readonly { word: string; at: number; end: number }[],
): { word: string; at: number; end: number }[] {
  return words.flatMap((w, i) => {
    const m = /^0?<(?![<(&>])(.*)$/.exec(w.word);
    if (!m) return [];
    const file = m[1] ? { word: m[1], at: w.end - m[1].length, end: w.end } : words[i + 1];
    return file && !file.word.startsWith('<(') ? [file] : [];
  });
}

/**
 * Programs whose output is not a file's content they are named (they send it, stat it, check it)
 * or that print only its name: a file given to them is not read back. (`cp` and `mv` are read
 * where they copy it: into the file they write.)
 */
const NOT_PRINTING_FILES = new Set([
  'curl',
  'wget',
  'scp',
  'rsync',
  'rm',
  'shred',
  'chmod',
  'chown',
  'chgrp',
  'touch',
  'ls',
  'stat',
  'du',
  'file',
  'test',
  '[',
  'ln',
  'mkdir',
  'install',
  // Tools that take a file of settings or of commands and print what they do, not the file.
  'docker',
  'podman',
  'kubectl',
  'helm',
  'psql',
  'mysql',
  'ssh',
  'sftp',
  'aws',
  'gsutil',
  'systemctl',
  'ansible-playbook',
  'tee',
  'echo',
  'printf',
  'sha1sum',
  'sha224sum',
  'sha256sum',
  'sha384sum',
  'sha512sum',
  'md5sum',
  'b2sum',
  'cksum',
  'sum',
  'wc',
]);

/**
 * Where the text reads back a file a command writes (`written`: their `>f` names): read on a
 * command's stdin (`< f`, `$(< f)`), or named to a program that prints it (`cat f`, `head f`;
 * not `curl --data @f`, `rm f`).
 */
function fileReads(
  text: string,
  written: ReadonlySet<string>,
): { name: string; at: number; end: number; through: string }[] {
  if (!written.size) return [];
  return simpleCommandWords(text).flatMap(({ words, name }) => {
    const program = words[name]?.word.split('/').pop();
    const read = [
      ...inputFiles(words),
      // `xargs --arg-file=FILE`, `-aFILE`.
      ...(program === 'xargs'
        ? words.flatMap((w) => {
            const m = /^(?:--arg-file=|-a)(.+)$/.exec(w.word);
            return m ? [{ word: m[1]!, at: w.end - m[1]!.length, end: w.end }] : [];
          })
        : []),
      ...(program && !NOT_PRINTING_FILES.has(program)
        ? words.slice(name + 1).filter((w, i, all) => isOperand(w.word, all[i - 1]?.word))
        : []),
    ];
    return read.flatMap((w) => {
      const variable = fileVariable(w.word);
      return written.has(variable)
        ? [
            {
              name: variable,
              at: w.at,
              end: w.end,
              through: `written to the file ${variable.slice(1)}`,
            },
          ]
        : [];
    });
  });
}

/** The variables `read` sets, given its words: those after its options and their values. */
function readVariables(args: readonly string[]): string[] {
  const names: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const word = args[k]!;
    if (/^\d*[<>]/.test(word)) {
      if (/^\d*(?:<<<|<<-?|<|>>?)$/.test(word)) k++; // its word follows
      continue;
    }
    if (word === '-a' && args[k + 1]) names.push(args[++k]!);
    else if (/^-[pdntNuit]$/.test(word)) k++;
    else if (/^[A-Za-z_]\w*$/.test(word)) names.push(word);
  }
  return names;
}

/** The array `mapfile`/`readarray` fills, given its words: its operand, else MAPFILE. */
function mapfileArray(args: readonly string[]): string {
  for (let k = 0; k < args.length; k++) {
    const word = args[k]!;
    if (/^\d*[<>]/.test(word)) {
      if (/^\d*(?:<<<|<<-?|<|>>?)$/.test(word)) k++; // its word follows
      continue;
    }
    if (/^-[dnOsuCc]$/.test(word)) k++;
    else if (/^[A-Za-z_]\w*$/.test(word)) return word;
  }
  return 'MAPFILE';
}

/** The end of an array's `( … )` that starts at `start` (quotes skipped). */
function arrayEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') i++;
    else if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return text.length;
      i = close;
    } else if (c === ')') return i + 1;
  }
  return text.length;
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
