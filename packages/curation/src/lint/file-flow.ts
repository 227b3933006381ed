import { simpleCommandWords } from './shell-commands.js';

/*
 * Files a step's shell writes and reads back, as lint follows a secret through them: a file is
 * named by the word that names it, and stands among the variables as `>NAME`.
 */

/** What stands for a file's content among the variables: `>f` (no variable has that name). */
export function fileVariable(word: string): string {
  return `>${word.replace(/["']/g, '').replace(/^(?:\.\/)+/, '')}`;
}

/** A word of a command that is neither an option nor a redirection (nor a redirection's file). */
export function isOperand(word: string, previous: string | undefined): boolean {
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
export function descriptorFile(target: string): string | undefined {
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
export function outputFiles(
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
export function inputFiles(
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
export function fileReads(
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
