import { type Stdio, streamStdio } from './stdio.js';
import { escapeDataControls, escapeJsonControls, keepOnly } from './terminal-safe.js';

/**
 * Where the CLI writes. Results go to stdout (one JSON document with --json); progress and
 * errors go to stderr. Colour only on a terminal and never when NO_COLOR is set. No control
 * character reaches the terminal but the colour codes of `Style` (see terminal-safe.ts).
 */
export interface Output {
  json: boolean;
  color: boolean;
  /** Write a line (or lines) of the result. */
  print(text: string): void;
  /**
   * Write a machine-readable document of the result (`--format csv|json`) as its renderer made
   * it: `print` would show its CRLFs and its strings' DEL and C1 as `\xHH`, which corrupts
   * them. No control character but tab, newline and CRLF gets through all the same.
   */
  printData(text: string): void;
  /** Write the one JSON document of a --json run. */
  printJson(value: unknown): void;
  /** Progress and notes for a person; never part of the result. */
  note(text: string): void;
  /** `note` with the text's control characters as they are: only for `run --raw`. */
  noteRaw(text: string): void;
  style: Style;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
} as const;

export function makeStyle(enabled: boolean): Style {
  const wrap =
    ([open, close]: readonly [number, number]) =>
    (s: string) =>
      enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    bold: wrap(codes.bold),
    dim: wrap(codes.dim),
    red: wrap(codes.red),
    green: wrap(codes.green),
    yellow: wrap(codes.yellow),
  };
}

export function wantsColor(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

/** The exact sequences `makeStyle` writes: the only ones the Output lets through. */
const styleCodes = Object.values(codes).flatMap((pair) => pair.map((n) => `\u001b[${n}m`));

export function createOutput(
  json: boolean,
  env: NodeJS.ProcessEnv = process.env,
  stdio: Stdio = streamStdio,
): Output {
  const color = !json && wantsColor(stdio.isStdoutTTY(), env);
  const terminalSafe = keepOnly(styleCodes);
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  return {
    json,
    color,
    print: (text) => {
      stdio.out(terminalSafe(line(text)));
    },
    printData: (text) => {
      stdio.out(escapeDataControls(line(text)));
    },
    printJson: (value) => {
      stdio.out(`${escapeJsonControls(JSON.stringify(value, null, 2))}\n`);
    },
    note: (text) => {
      stdio.err(terminalSafe(line(text)));
    },
    noteRaw: (text) => {
      stdio.err(line(text));
    },
    style: makeStyle(color),
  };
}

/** Left-aligned columns, widths from the content; the last column is never padded. */
export function formatTable(header: string[], rows: string[][], style?: Style): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === cells.length - 1
          ? c
          : c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(c))),
      )
      .join('  ')
      .trimEnd();
  const head = line(header);
  return [style ? style.bold(head) : head, ...rows.map(line)].join('\n');
}

function visibleLength(s: string): number {
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}
