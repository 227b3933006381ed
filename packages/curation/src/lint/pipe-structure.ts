// Where a command's stdin comes from and where its output goes, in the text around it: a pipe,
// a loop's or a group's redirection, a here-document, a process substitution. For following a
// secret's value (stdin-sources, value-flows).
import { hereDocuments } from './here-documents.js';
import { blankedCode } from './shell-commands.js';

/**
 * What the command starting at `at` reads on stdin from a pipe: the text of the pipeline's
 * commands before it (`printf … "$T" | base64 | { read -r t; …`), up to the list's `;`, `&`
 * or line; undefined when it reads no pipe.
 */
export function pipedInto(text: string, at: number): { start: number; end: number } | undefined {
  const code = blankedCode(text).slice(0, at);
  const m = /(?<![|])\|(?:\s|[{(]|\b(?:while|until|if)\b|!)*$/.exec(code);
  if (!m) return undefined;
  // A group or a loop that pipes (`… | while …; done | xargs`): the pipeline starts before it.
  const group = groupBefore(text, m.index);
  const before = code.slice(0, group ? group.start : m.index);
  const or = before.lastIndexOf('||');
  const start = Math.max(
    before.lastIndexOf(';'),
    before.lastIndexOf('&'),
    before.lastIndexOf('\n'),
    or >= 0 ? or + 1 : -1,
  );
  return { start: start + 1, end: m.index };
}

/**
 * Whether a `read` or `mapfile` at `at` runs in a subshell of its own: a stage of a pipe, named
 * right after its `|`, not the last one, or the last one without bash's `shopt -s lastpipe`
 * (dash, and bash by default, run every stage in a subshell). What it sets is gone when the
 * stage ends. In `… | { read -r t; …; }` or `… | while read -r t` the rest of that stage sees it.
 */
export function isPipeSubshell(text: string, at: number): boolean {
  const code = blankedCode(text);
  if (!/(?<![|])\|[ \t]*$/.test(code.slice(0, at))) return false;
  const rest = /^[^;&|\n()]*(\|\|?)?/.exec(code.slice(at));
  if (rest?.[1] === '|') return true;
  return !/(?:^|[\s;&|(){}])shopt\s+(?:-\w+\s+)*-s\s+(?:\w+\s+)*lastpipe\b/.test(code);
}

/**
 * What the condition of a `while`/`until` loop starting at `at` reads on stdin when the loop's
 * input is redirected after its `done`: a here-string's word (`done <<< "$T"`) or a process
 * substitution's text (`done < <(printf … "$T")`); undefined for any other command. The loop's
 * `done` is found by counting the `do`s and `done`s that begin a command, as lint reads
 * everything: without running it.
 */
export function loopInput(text: string, at: number): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  if (!/(?:^|[\s;&|(){}])(?:while|until)\s+(?:!\s+)?$/.test(code.slice(0, at))) return undefined;
  let depth = 0;
  // Only as a command's first word are they the loop's keywords (`echo done` is an argument).
  for (const m of code.slice(at).matchAll(/(?<=(?:^|[;&|(){}\n])[ \t]*)(do|done)(?![\w/.-])/g)) {
    depth += m[1] === 'do' ? 1 : -1;
    if (depth > 0) continue;
    if (depth < 0 || m[1] === 'do') return undefined;
    const after = at + m.index + m[0].length;
    const rest = code.slice(after);
    const here = /^[ \t]*\d*<<<[ \t]*(?=\S)/.exec(rest);
    if (here) {
      const start = after + here[0].length;
      const word = /^[^\s;&|()<>]+/.exec(code.slice(start));
      return word ? { start, end: start + word[0].length } : undefined;
    }
    const sub = /^[ \t]*\d*<[ \t]*<\(/.exec(rest);
    if (sub) return processSubstitutionText(code, after + sub[0].length);
    // `done < FILE`: the file's name, where its content is read.
    const file = /^([ \t]*0?<[ \t]*)(?![<(&>])([^\s;&|()<>]+)/.exec(rest);
    if (file) return { start: after + file[1]!.length, end: after + file[0].length };
    const doc = /^[ \t]*\d*(?=<<)/.exec(rest);
    const body = doc && hereDocuments(text).find((d) => d.at === after + doc[0].length);
    return body ? { start: body.bodyStart, end: body.bodyEnd } : undefined;
  }
  return undefined;
}

/**
 * What a command of `words` reads on stdin from a process substitution (`read -r x < <(printf …
 * "$T")`): the substitution's text, for each `< <(…)` among its words.
 */
export function processSubstitutionInputs(
  text: string,
  words: readonly { word: string; at: number }[],
): { start: number; end: number }[] {
  if (!words.some((w) => w.word.includes('<'))) return [];
  const code = blankedCode(text);
  return words.flatMap((w) => {
    const sub = /^\d*<[ \t]*<\(/.exec(code.slice(w.at, w.at + 64));
    const input = sub ? processSubstitutionText(code, w.at + sub[0].length) : undefined;
    return input ? [input] : [];
  });
}

/**
 * The bodies of the here-documents whose operator stands in `start`…`end` (the words of a
 * command, a pipe's commands): what those commands read on stdin.
 */
export function hereDocumentBodies(
  text: string,
  start: number,
  end: number,
): { start: number; end: number }[] {
  return hereDocuments(text)
    .filter((d) => d.at >= start && d.at < end)
    .map((d) => ({ start: d.bodyStart, end: d.bodyEnd }));
}

/**
 * When the command at `at` is inside an output process substitution (`printf … > >(xargs …)`,
 * `… | tee >(xargs …)`): the text before that `>(` on its list, whose output it reads.
 */
export function outputSubstitutionWriter(
  text: string,
  at: number,
): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  const open = code.lastIndexOf('>(', at);
  if (open < 0) return undefined;
  for (let i = open + 2, nested = 1; i < at; i++) {
    if (code[i] === '(') nested++;
    else if (code[i] === ')' && --nested === 0) return undefined;
  }
  const before = code.slice(0, open);
  const start = Math.max(
    before.lastIndexOf(';'),
    before.lastIndexOf('&'),
    before.lastIndexOf('\n'),
  );
  return { start: start + 1, end: open };
}

/**
 * The compound command that ends right before `at` (where its redirections start): `{ … }`,
 * `( … )`, a loop's `… done`, `if … fi`, `case … esac`; from its first word to its end.
 */
export function groupBefore(text: string, at: number): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  const before = code.slice(0, at).trimEnd();
  const end = before.length;
  const last = before[end - 1];
  if (last === '}' || last === ')') {
    const open = last === '}' ? '{' : '(';
    for (let i = end - 1, depth = 0; i >= 0; i--) {
      if (code[i] === last) depth++;
      else if (code[i] === open && --depth === 0) return { start: i, end };
    }
    return undefined;
  }
  const keyword = /(?:^|[\s;&|()])(done|fi|esac)$/.exec(before)?.[1];
  if (!keyword) return undefined;
  const opener =
    keyword === 'done' ? /^(?:while|until|for|select)$/ : keyword === 'fi' ? /^if$/ : /^case$/;
  const closer = new RegExp(`^${keyword}$`);
  // Back over the keywords that begin a command, pairing each closer with its opener.
  const words = [
    ...before.matchAll(
      /(?<=(?:^|[;&|(){}\n])[ \t]*)(while|until|for|select|if|case|done|fi|esac)(?![\w/.-])/g,
    ),
  ];
  let depth = 0;
  for (let k = words.length - 1; k >= 0; k--) {
    const word = words[k]![1]!;
    if (closer.test(word)) depth++;
    else if (opener.test(word) && --depth === 0) return { start: words[k]!.index, end };
  }
  return undefined;
}

/** The text of the process substitution `<(…)` that starts at `at`, if one does. */
export function processSubstitutionAt(
  text: string,
  at: number,
): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  return code.startsWith('<(', at) ? processSubstitutionText(code, at + 2) : undefined;
}

/** The text of a `<(…)` whose content starts at `open` in `code`, up to its matching `)`. */
function processSubstitutionText(
  code: string,
  open: number,
): { start: number; end: number } | undefined {
  for (let i = open, nested = 1; i < code.length; i++) {
    if (code[i] === '(') nested++;
    else if (code[i] === ')' && --nested === 0) return { start: open, end: i };
  }
  return undefined;
}
