import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileValue as value } from './__fixtures__/hostile-values.js';
import {
  commandArgumentBytes,
  encodeEnvBlock,
  MAX_ARGUMENT_BYTES,
  shellInvocation,
  shellInvocationLine,
} from './shell-invocation.js';

const BATCH = 50; // variables per command
const RUNS = 200; // 200 commands x 50 variables = 10,000 values through each wrapper shell

interface Outcome {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Starts the wrapper like the local transport does, but with `wrapperShell` in place of `sh`
 * (bash is /bin/sh on some distributions) and optionally under `prefix` (strace). stdin stays
 * open until the command ends: it is the lifeline.
 */
function runWrapped(
  command: string,
  env: Record<string, string>,
  options: { wrapperShell?: string; prefix?: string[]; cwd?: string; loginShell?: boolean } = {},
): Promise<Outcome> {
  const [, ...args] = shellInvocation({ command });
  // loginShell: the one line through dash's `sh -c`, as sshd hands an exec request to a login
  // shell of /bin/sh (Debian's default for new users).
  const argv = [
    ...(options.prefix ?? []),
    ...(options.loginShell
      ? ['sh', '-c', shellInvocationLine({ command })]
      : [options.wrapperShell ?? 'sh', ...args]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? 'sh', argv.slice(1), {
      cwd: options.cwd,
      detached: true,
      // HOME: bash started with a socket as stdin reads ~/.bashrc, which is not under test.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir },
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.on('error', () => {});
    child.stdin.write(encodeEnvBlock(env));
    child.once('error', reject);
    child.once('close', (code) => {
      child.stdin.destroy();
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-env-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const names = Array.from({ length: BATCH }, (_, i) => `OPSBOOK_PARAM_V${i}`);
const printAll = names.map((n) => `printf '%s\\0' "$${n}"`).join('; ');

describe('the env block through the real wrapper', () => {
  for (const wrapperShell of ['sh', 'bash']) {
    it(`${wrapperShell} as the wrapper delivers 10,000 generated values verbatim and executes none`, async () => {
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(value, { minLength: BATCH, maxLength: BATCH }),
          async (values) => {
            const env = Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
            const r = await runWrapped(printAll, env, { wrapperShell, cwd: dir });
            expect(r.code, r.stderr).toBe(0);
            const expected = Buffer.from(values.map((v) => `${v}\0`).join(''), 'utf8');
            expect(r.stdout.equals(expected), JSON.stringify(values)).toBe(true);
            checked += values.length;
          },
        ),
        { numRuns: RUNS },
      );
      expect(checked).toBe(10_000);
      await expect(readFile(path.join(dir, 'CANARY'))).rejects.toThrow(/ENOENT/);
    });
  }

  it('delivers every byte value and variables named like the wrapper own ones', async () => {
    let every = '';
    for (let c = 1; c < 0x800; c++) every += String.fromCodePoint(c);
    const env = { A: `${every}\n\n`, B: '\n', C: '', e: 'E', l: 'L', r: 'R', _3: '3' };
    const r = await runWrapped('printf "<%s>" "$A" "$B" "$C" "$e" "$l" "$r" "$_3"; exit 7', env, {
      cwd: dir,
    });
    expect(r.code).toBe(7); // the command's own exit code, not one a variable could change
    expect(r.stdout.toString()).toBe(`<${every}\n\n><\n><><E><L><R><3>`);
  });

  it('decodes the whole block without a fork: 50 variables cost the same processes as none', async () => {
    const forks = async (env: Record<string, string>): Promise<number> => {
      const log = path.join(dir, `strace.${Object.keys(env).length}`);
      const prefix = ['strace', '-f', '-qq', '-e', 'trace=fork,vfork,clone,clone3', '-o', log];
      const r = await runWrapped('true', env, { prefix });
      expect(r.code, r.stderr).toBe(0);
      const trace = await readFile(log, 'utf8');
      return trace.split('\n').filter((l) => /\b(v?fork|clone3?)\(/.test(l)).length;
    };
    const none = await forks({});
    const fifty = await forks(Object.fromEntries(names.map((n) => [n, "a'b\n$(c)"])));
    expect(fifty).toBe(none);
    expect(none).toBe(2); // the lifeline and the command, nothing per variable
  });

  it('replaces the login shell that runs its line: no shell is kept waiting in front of it', async () => {
    const log = path.join(dir, 'strace.login');
    const prefix = ['strace', '-f', '-qq', '-e', 'trace=fork,vfork,clone,clone3', '-o', log];
    const r = await runWrapped('true', {}, { prefix, loginShell: true });
    expect(r.code, r.stderr).toBe(0);
    const trace = await readFile(log, 'utf8');
    // As many as the wrapper started directly: the lifeline and the command.
    expect(trace.split('\n').filter((l) => /\b(v?fork|clone3?)\(/.test(l)).length).toBe(2);
  });

  it('does not run the command when stdin ends before the env block does', async () => {
    const [, ...args] = shellInvocation({ command: 'touch RAN' });
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('sh', args, { cwd: dir, detached: true });
      child.stdin.end("A='x"); // no newline: the block never completed
      child.once('close', resolve);
    });
    expect(code).toBe(125);
    await expect(readFile(path.join(dir, 'RAN'))).rejects.toThrow(/ENOENT/);
  });
});

describe('encodeEnvBlock', () => {
  it('writes one line whatever the values hold', () => {
    expect(encodeEnvBlock({})).toBe('\n');
    expect(encodeEnvBlock({ A: 'é', B: "it's\nx" })).toBe(
      `A='é'; export A; B='it'\\''s'"$3"'x'; export B\n`,
    );
  });
});

describe('commandArgumentBytes', () => {
  it('counts the bytes of the longest line the command makes (sudo, bash), quotes and UTF-8 included', () => {
    fc.assert(
      fc.property(fc.oneof(value, fc.string({ unit: 'binary' })), (command) => {
        fc.pre(!command.includes('\0') && !/\p{Surrogate}/u.test(command));
        const line = shellInvocationLine({ command, sudo: true, shell: 'bash' });
        expect(commandArgumentBytes(command)).toBe(Buffer.byteLength(line, 'utf8'));
        for (const sudo of [false, true])
          for (const shell of ['sh', 'bash'] as const)
            expect(commandArgumentBytes(command)).toBeGreaterThanOrEqual(
              Buffer.byteLength(shellInvocationLine({ command, sudo, shell }), 'utf8'),
            );
      }),
    );
  });

  it("is Linux's limit: a real sh starts with an argument of MAX_ARGUMENT_BYTES, not with one byte more", async () => {
    // Node throws E2BIG from spawn itself, or emits it, depending on the version.
    const exitOf = (arg: string) =>
      new Promise<number | string>((resolve) => {
        try {
          const child = spawn('sh', ['-c', 'exit 7', 'sh', arg], { stdio: 'ignore' });
          child.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
          child.once('exit', (code) => resolve(code ?? -1));
        } catch (e) {
          resolve((e as NodeJS.ErrnoException).code ?? String(e));
        }
      });
    expect(await exitOf('a'.repeat(MAX_ARGUMENT_BYTES))).toBe(7);
    expect(await exitOf('a'.repeat(MAX_ARGUMENT_BYTES + 1))).toBe('E2BIG');
  });
});
