import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRunTemplate } from './render-command.js';
import { quoteShellArg } from './shell-quote.js';

/** Fragments that mean something to a shell; generated values are built from them and from noise. */
const HOSTILE = [
  "'",
  '"',
  '\\',
  '`',
  '$',
  '$(',
  ')',
  '${',
  '}',
  '$((1+1))',
  '`id`',
  '$(touch CANARY)',
  '`touch CANARY`',
  '; touch CANARY',
  '&& touch CANARY',
  '| touch CANARY',
  '\ntouch CANARY\n',
  '\r\n',
  '\n',
  '\t',
  ' ',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '#',
  '!',
  '!!',
  '&',
  '<',
  '>',
  '>>',
  '2>&1',
  '<(touch CANARY)',
  '{a,b}',
  '%s',
  '%n',
  '\\n',
  '-',
  '--',
  '--help',
  '-e',
  '-n',
  '--option=value',
  '-rf',
  '=',
  'IFS=x',
  "'\\''",
  "\\'",
  '\u00e9',
  '\u4e2d\u6587',
  '\u{1F600}',
  '\u202e',
  '\u00a0',
  '\u0000'.slice(1),
  '\x7f',
  '\x1b[31m',
  'PATH=/x',
];

const hostileValue = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary', maxLength: 6 })), {
    maxLength: 12,
  })
  .map((parts) => parts.join(''));
const value = fc
  .oneof(
    hostileValue,
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom(...HOSTILE),
  )
  // NUL bytes and lone surrogates are refused by design (tested below), so they are not inputs here.
  .map((v) => v.replaceAll('\0', '').replace(/\p{Surrogate}/gu, ''));

const BATCH = 500;
const RUNS = 20; // 20 batches x 500 values = 10,000 values through each shell

function runShell(
  shell: string,
  script: string,
  cwd: string,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      shell,
      ['-c', script],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stderr });
      },
    );
  });
}

describe('quoteShellArg through a real shell', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'opsbook-quote-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const shell of ['sh', 'bash']) {
    it(`${shell} receives 10,000 generated values verbatim through a run: template and executes none of them`, async () => {
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(value, { minLength: BATCH, maxLength: BATCH }),
          async (values) => {
            const template = 'printf %s {{ params.x }}';
            const script = values
              .map(
                (v, i) =>
                  `{ ${renderRunTemplate(template, { params: { x: v }, host: { name: 'h', vars: {} } })}\n} > out.${i}`,
              )
              .join('\n');
            const result = await runShell(shell, script, dir);
            expect(result.stderr).toBe('');
            expect(result.code).toBe(0);
            for (const [i, v] of values.entries()) {
              const got = await readFile(path.join(dir, `out.${i}`));
              expect(got.equals(Buffer.from(v, 'utf8')), `value ${JSON.stringify(v)}`).toBe(true);
            }
            expect(existsSync(path.join(dir, 'CANARY'))).toBe(false);
            checked += values.length;
          },
        ),
        { numRuns: RUNS },
      );
      expect(checked).toBeGreaterThanOrEqual(10_000);
    });
  }

  it('keeps each value one argument when several placeholders share a command', async () => {
    const values = ['a b', '', '--x', "it's", '$(touch CANARY)', '*'];
    const template = "printf '<%s>' {{ params.a }} {{ host.name }} {{ host.vars.v }}";
    for (const v of values) {
      const command = renderRunTemplate(template, {
        params: { a: v },
        host: { name: v, vars: { v } },
      });
      await writeFile(path.join(dir, 'multi.sh'), `${command} > multi.out\n`);
      const result = await runShell('sh', '. ./multi.sh', dir);
      expect(result.code).toBe(0);
      expect(await readFile(path.join(dir, 'multi.out'), 'utf8')).toBe(`<${v}><${v}><${v}>`);
    }
    expect(existsSync(path.join(dir, 'CANARY'))).toBe(false);
  });
});

describe('quoteShellArg', () => {
  it('always produces one single-quoted word, even for harmless values', () => {
    expect(quoteShellArg('abc')).toBe("'abc'");
    expect(quoteShellArg('')).toBe("''");
    expect(quoteShellArg("it's")).toBe("'it'\\''s'");
  });

  it('refuses a value with a NUL byte, naming the value', () => {
    expect(() => quoteShellArg('a\0b', 'param path')).toThrow(/param path: contains a NUL byte/);
    expect(() => quoteShellArg('\0')).toThrow(
      expect.objectContaining({ kind: 'invalid', code: 'SHELL_NUL_BYTE' }),
    );
  });

  it('refuses a lone surrogate, which cannot reach the shell verbatim', () => {
    expect(() => quoteShellArg('a\ud800')).toThrow(
      expect.objectContaining({ code: 'SHELL_BAD_UNICODE' }),
    );
    expect(quoteShellArg('\u{1F600}')).toBe("'\u{1F600}'");
  });
});
