import { substitutions } from './command-substitutions.js';
import { inputFiles, isOperand } from './file-flow.js';
import {
  groupBefore,
  hereDocumentBodies,
  loopInput,
  outputSubstitutionWriter,
  pipedInto,
  processSubstitutionAt,
  processSubstitutionInputs,
} from './pipe-structure.js';
import { argvWordAt, simpleCommandWords } from './shell-commands.js';

/*
 * Where a command's stdin comes from in a step's shell, and which inputs become a program's
 * arguments (xargs, parallel, a shell reading code): read without running anything.
 */

/**
 * Inputs that become a program's arguments, with what to call that program: the stdin of each
 * `xargs` (a pipe into it, a here-string, …; `curl (by xargs)`), and shell code a shell reads
 * (`… | sh`, `bash <<EOF`, `source <(…)`, `. FILE`, `bash FILE`: the commands in that code get
 * what it holds in their argv).
 */
export function argvInputs(text: string): ArgvInput[] {
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

export interface ArgvInput {
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
export function loopInputOf(
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
export function stdinSources(
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
