import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execStream } from './exec-stream.js';
import { createLocalTransport } from './local-transport.js';
import { paramEnv } from './render-command.js';
import { encodeEnvBlock, shellInvocation } from './shell-invocation.js';
import { CommandCancelledError } from './transport.js';

const pgrep = (pattern: string) => {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
};
async function waitForNoProcess(pattern: string): Promise<void> {
  for (let i = 0; i < 400 && pgrep(pattern) !== ''; i++)
    await new Promise((r) => setTimeout(r, 25));
  expect(pgrep(pattern)).toBe('');
}

describe('local transport', () => {
  const local = createLocalTransport();

  it('passes env values byte for byte, however hostile, without a command line carrying them', async () => {
    const values = [
      '',
      'a b',
      "it's",
      '$(touch /tmp/opsbook-pwned)',
      '\n\ntrailing\n\n',
      '\u00e9\u{1F600}',
      '\\101',
      '%s%n',
      '-e',
    ];
    for (const value of values) {
      const env = paramEnv({ v: value });
      const result = await local.exec({ command: 'printf %s "$OPSBOOK_PARAM_V"', env });
      expect(result.stdout).toBe(value);
    }
    const sentinel = `opsbook-sentinel-${process.pid}`;
    const argv = shellInvocation({ command: 'printf %s "$OPSBOOK_PARAM_V"' }).join(' ');
    expect(argv).not.toContain(sentinel);
  });

  it('reports exit codes and streams stdout and stderr', async () => {
    const out: string[] = [];
    const result = await local.exec({
      command: 'echo a; echo b >&2; exit 5',
      onStdout: (c) => out.push(c),
      shell: 'bash',
    });
    expect(result).toMatchObject({
      exitCode: 5,
      stdout: 'a\n',
      stderr: 'b\n',
      timedOut: false,
      truncated: false,
    });
    expect(out.join('')).toBe('a\n');
  });

  it('kills the whole process group on timeout', async () => {
    const result = await local.exec({ command: "sh -c 'sleep 311' & sleep 312", timeoutMs: 200 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    await waitForNoProcess('sleep 31[12]');
  });

  it('kills the command and rejects with InterruptedError on abort', async () => {
    const controller = new AbortController();
    const running = local.exec({
      command: 'echo go; sleep 313',
      signal: controller.signal,
      onStdout: () => controller.abort(),
    });
    await expect(running).rejects.toMatchObject({ kind: 'interrupted', code: 'INTERRUPTED' });
    await waitForNoProcess('sleep 313');
  });

  it('a streamed command cancelled says the kill was confirmed, as over SSH, once its group is gone', async () => {
    const controller = new AbortController();
    const named = createLocalTransport({ host: 'runner-1' });
    const run = execStream(named, {
      command: "echo go; sh -c 'sleep 314' & sleep 315",
      signal: controller.signal,
    });
    run.stdout.on('error', () => {});
    run.stdout.once('data', () => controller.abort());
    const error = await run.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ kind: 'interrupted', isKillConfirmed: true, host: 'runner-1' });
    expect(String((error as Error).message)).toBe(
      'the command on runner-1 was cancelled and killed',
    );
    await waitForNoProcess('sleep 31[45]');
  });

  it('runs sudo -n as root and keeps the env across sudo', async () => {
    const result = await local.exec({
      command: 'id -u; printf %s "$OPSBOOK_PARAM_X"',
      sudo: true,
      env: paramEnv({ x: 'y z' }),
    });
    expect(result.stdout).toBe('0\ny z');
    expect(shellInvocation({ command: 'true', sudo: true }).slice(0, 3)).toEqual([
      'sudo',
      '-n',
      '--',
    ]);
  });

  it('caps captured output but streams all of it', async () => {
    let streamed = 0;
    const result = await local.exec({
      command: 'head -c 5000 /dev/zero | tr "\\0" x',
      maxCapturedBytes: 100,
      onStdout: (c) => {
        streamed += c.length;
      },
    });
    expect(result.stdout).toHaveLength(100);
    expect(result.truncated).toBe(true);
    expect(streamed).toBe(5000);
  });

  it('keeps the end of a long output, where a failing command says why, and counts what it cut', async () => {
    const result = await local.exec({
      command: 'seq 1 300000; echo "FATAL: giving up" >&2; echo LAST LINE; exit 3',
      maxCapturedBytes: 1000,
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toHaveLength(1000);
    expect(result.stdout.endsWith('300000\nLAST LINE\n')).toBe(true);
    // seq 1 300000 prints 1,988,895 characters; with LAST LINE\n, 1,988,905.
    expect(result.stdoutCut).toBe(1_988_905 - 1000);
    expect(result).toMatchObject({ stderr: 'FATAL: giving up\n', truncated: true });
    expect(result.stderrCut).toBeUndefined();
  });

  it('ends a command whose detached child (setsid) holds its output open, keeping what it printed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-orphan-'));
    const pidFile = path.join(dir, 'pid');
    try {
      // The orphan leads a session of its own: the command's process group ends without it.
      const result = await local.exec({
        command: `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 60' & echo started`,
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'started\n', timedOut: false });
      // Timed out while the orphan of an earlier line holds the pipes: the step ends too.
      const timed = await local.exec({
        command: `setsid sh -c 'echo $$ >> ${pidFile}; exec sleep 60' & sleep 30`,
        timeoutMs: 300,
      });
      expect(timed).toMatchObject({ exitCode: null, timedOut: true });
    } finally {
      const pids = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('local transport environment', () => {
  const runner = {
    PATH: process.env.PATH,
    HOME: '/home/opsbook-test',
    LC_TIME: 'C',
    TZ: 'UTC',
    JIRA_API_TOKEN: 'jira-token-planted',
    OPSBOOK_KEY_PASSPHRASE: 'passphrase-planted',
    PGPASSWORD: 'pg-planted',
    OPSBOOK_PARAM_STRAY: 'stray-planted',
  };
  const namesOf = (text: string) =>
    text
      .split('\n')
      .map((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])
      .filter((n) => n !== undefined && !['PWD', 'OLDPWD', 'SHLVL', '_'].includes(n))
      .sort();
  const expected = ['HOME', 'LC_TIME', 'OPSBOOK_PARAM_MINE', 'PATH', 'TZ'];

  it("gives a command only the allow-listed part of the runner's environment plus its own", async () => {
    const local = createLocalTransport({ env: runner });
    const result = await local.exec({ command: 'env', env: paramEnv({ mine: 'step value' }) });
    expect(result.exitCode).toBe(0);
    expect(namesOf(result.stdout)).toEqual(expected);
    expect(result.stdout).toContain('OPSBOOK_PARAM_MINE=step value\n');
    expect(result.stdout).not.toContain('planted');
  });

  it('gives a streamed command the same environment', async () => {
    const local = createLocalTransport({ env: runner });
    const run = execStream(local, { command: 'env', env: paramEnv({ mine: 'step value' }) });
    const chunks: Buffer[] = [];
    for await (const c of run.stdout) chunks.push(c as Buffer);
    expect((await run.done).exitCode).toBe(0);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(namesOf(text)).toEqual(expected);
    expect(text).not.toContain('planted');
  });
});

describe('encodeEnvBlock', () => {
  it('refuses invalid names and values no environment can hold', () => {
    expect(() => encodeEnvBlock({ 'A-B': 'x' })).toThrow(/not a valid variable name/);
    expect(() => encodeEnvBlock({ A: 'x\0y' })).toThrow(/NUL/);
    expect(encodeEnvBlock({ A: 'é' })).toBe("A='é'; export A\n");
  });
});
