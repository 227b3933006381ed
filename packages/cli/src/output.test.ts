import { describe, expect, it } from 'vitest';
import { createOutput } from './output.js';
import type { Stdio } from './stdio.js';

/** An Output whose stdout is a string, as a file or pipe gets it (`isTTY` as given). */
function captured(isTTY = false) {
  let out = '';
  const stdio: Stdio = {
    isStdoutTTY: () => isTTY,
    out: (text) => {
      out += text;
    },
    err: () => {},
    isPending: () => false,
  };
  return { output: createOutput(false, {}, stdio), written: () => out };
}

describe('Output.printData', () => {
  it('writes a CSV document byte for byte: its CRLF record ends are data, not something to show', () => {
    const { output, written } = captured();
    output.printData('group,os\r\nall,"Debian, 12"\r\n');
    expect(written()).toBe('group,os\r\nall,"Debian, 12"\r\n');
  });

  it('still lets no other control character through, on a terminal or not', () => {
    for (const isTTY of [true, false]) {
      const { output, written } = captured(isTTY);
      output.printData('a\u001b]0;pwned\u0007\rb\u009b2J\tc\nd');
      expect(written()).toBe(String.raw`a\u001b]0;pwned\u0007\u000db\u009b2J` + '\tc\nd\n');
    }
  });

  it('keeps a JSON document valid and equal: DEL and C1 in its strings become \\u escapes', () => {
    const value = { os: 'Evil\u0085OS\u007f', kernel: 'k\u009b2J', n: [1, 2] };
    const { output, written } = captured();
    output.printData(`${JSON.stringify(value, null, 2)}\n`);
    expect(written()).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(written())).toEqual(value);
  });
});

describe('Output.print', () => {
  it('shows every control character of human output, a CR before a newline included', () => {
    const { output, written } = captured(true);
    output.print('a\r\nb\u001b[2J');
    expect(written()).toBe(String.raw`a\x0d` + '\n' + String.raw`b\x1b[2J` + '\n');
  });
});
