import type { ShellScan } from './shell-scan.js';

/**
 * A simple getopts loop, as people write it:
 *
 *   while getopts "h:p:v" opt; do
 *     case "$opt" in
 *       h) HOST=$OPTARG ;;
 *       v) VERBOSE=1 ;;
 *     esac
 *   done
 *   shift $((OPTIND - 1))
 *
 * Each option of the option string whose branch stores it in a variable becomes a param: one
 * that takes a value (`h:`) a string (or what its first value says), a flag a boolean. Anything
 * else (a dynamic option string, no `case` on the loop's variable, two loops) is a problem, and
 * the caller then passes the arguments as one list.
 */

export interface GetoptsOption {
  letter: string;
  takesValue: boolean;
  /** The variable its branch sets (from $OPTARG for an option with a value). */
  variable?: string;
}

export interface GetoptsSpec {
  options: GetoptsOption[];
  notes: string[];
  /** Where its `getopts` call is: positional references before it are read before the options. */
  loopStart: number;
  /** Where the loop ends: positional references after it are operands. */
  loopEnd: number;
}

export function readGetopts(
  scan: ShellScan,
  inScope: (offset: number) => boolean,
): GetoptsSpec | { problem: string } | undefined {
  const calls = [...scan.code.matchAll(/(?<![\w-])getopts\s+/g)].filter((m) => inScope(m.index));
  if (calls.length === 0) return undefined;
  if (calls.length > 1) return { problem: 'the script has more than one getopts loop' };
  const call = calls[0]!;
  const head = /^('[^']*'|"[^"$`\\]*"|[^\s'"$`;]+)\s+([A-Za-z_]\w*)/.exec(
    scan.text.slice(call.index + call[0].length),
  );
  if (!head) return { problem: 'its getopts option string is not a plain word' };
  const optstring = head[1]!.replace(/^['"]|['"]$/g, '').replace(/^:/, '');
  const variable = head[2]!;
  if (!/^(?:[A-Za-z0-9]:?)+$/.test(optstring))
    return { problem: `its getopts option string ${head[1]} is not letters and colons` };
  const loopEnd = loopEndAfter(scan.code, call.index);
  if (loopEnd === undefined) return { problem: 'its getopts loop has no do … done' };
  const branches = caseBranches(scan, variable, call.index, loopEnd);
  if (!branches) return { problem: `its getopts loop has no case on $${variable}` };

  const options: GetoptsOption[] = [];
  const notes: string[] = [];
  for (const letter of optstring.replace(/:/g, '')) {
    const takesValue = optstring[optstring.indexOf(letter) + 1] === ':';
    const branch = branches.find((b) => b.letters.includes(letter));
    if (!branch) {
      notes.push(`option -${letter} is in the getopts string but no case branch handles it`);
      continue;
    }
    const assigned = scan.assignments.filter(
      (a) => a.start >= branch.start && a.start < branch.end && a.value !== undefined,
    );
    const stored = takesValue
      ? assigned.find((a) => /\bOPTARG\b/.test(a.value!))
      : assigned.find((a) => a.name !== variable);
    if (!takesValue && !stored) {
      notes.push(
        `option -${letter} is not a param: its branch sets no variable (help, usage or a shell option)`,
      );
      continue;
    }
    options.push({ letter, takesValue, ...(stored ? { variable: stored.name } : {}) });
  }
  return { options, notes, loopStart: call.index, loopEnd };
}

/** The end of the `done` closing the loop whose header holds `from`. */
function loopEndAfter(code: string, from: number): number | undefined {
  let depth = 0;
  const words = /(?<![\w-])(do|done)(?![\w-])/g;
  words.lastIndex = from;
  for (let m = words.exec(code); m; m = words.exec(code)) {
    depth += m[1] === 'do' ? 1 : -1;
    if (depth === 0) return m.index + m[0].length;
  }
  return undefined;
}

interface Branch {
  letters: string[];
  start: number;
  end: number;
}

/** The branches of the `case "$variable" in … esac` between `from` and `to`. */
function caseBranches(
  scan: ShellScan,
  variable: string,
  from: number,
  to: number,
): Branch[] | undefined {
  const subject = new RegExp(
    `(?<![\\w-])case\\s+"?\\$(?:\\{${variable}\\}|${variable}\\b)"?\\s+in(?![\\w-])`,
    'g',
  );
  subject.lastIndex = from;
  const head = subject.exec(scan.text);
  if (!head || head.index > to || scan.contextAt(head.index) !== 'code') return undefined;
  const bodyStart = head.index + head[0].length;
  const esac = /(?<![\w-])esac(?![\w-])/.exec(scan.code.slice(bodyStart));
  const bodyEnd = esac ? bodyStart + esac.index : to;
  const branches: Branch[] = [];
  let start = bodyStart;
  for (const sep of [...scan.code.slice(bodyStart, bodyEnd).matchAll(/;;&?|;&/g), undefined]) {
    const end = sep ? bodyStart + sep.index : bodyEnd;
    const pattern = /^\s*\(?\s*([^)]*)\)/.exec(scan.text.slice(start, end));
    if (pattern) {
      const letters = pattern[1]!
        .split('|')
        .map((p) =>
          p
            .trim()
            .replace(/^['"]|['"]$/g, '')
            .replace(/^-/, ''),
        )
        .filter((p) => /^[A-Za-z0-9]$/.test(p));
      branches.push({ letters, start: start + pattern[0].length, end });
    }
    start = sep ? end + sep[0].length : bodyEnd;
  }
  return branches;
}
