import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileValue } from './__fixtures__/hostile-values.js';
import { quoteShellArg } from './shell-quote.js';
import { EndMarkerScanner, StepSession, stepSessionArgv, stepSessionLine } from './step-session.js';

/**
 * The step session's script under real shells, started as a local child process (the SSH
 * transport starts the same argv through sshd: test/ssh-transport.test.ts).
 */
let dir = '';
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-session-'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function startSession(
  options: { scriptShell?: string[]; prefix?: string[]; loginShell?: boolean } = {},
) {
  const [, ...args] = stepSessionArgv();
  // loginShell: the one line through dash's `sh -c`, as sshd hands an exec request to a login
  // shell of /bin/sh (Debian's default for new users).
  const argv = [
    ...(options.prefix ?? []),
    ...(options.loginShell
      ? ['sh', '-c', stepSessionLine()]
      : [...(options.scriptShell ?? ['sh']), ...args]),
  ];
  const child = spawn(argv[0] ?? 'sh', argv.slice(1), {
    cwd: dir,
    detached: true, // the script leads its own process group, as under sshd
    // HOME: bash started with a socket as stdin reads ~/.bashrc, which is not under test.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir },
  });
  children.push(child);
  child.stdin.on('error', () => {});
  const session = new StepSession(
    {
      write: (text) => child.stdin.write(text),
      onStdout: (l) => child.stdout.on('data', l),
      onStderr: (l) => child.stderr.on('data', l),
      onClose: (l) => child.once('close', l),
      onExit: (l) => child.once('exit', l),
      destroy: () => child.stdin.destroy(),
    },
    { host: 'local', lostError: () => new Error('session lost') },
  );
  return { session, child };
}

const BATCH = 50; // values per command: 25 in its environment, 25 in its text
const RUNS = 200; // 200 commands x 50 values = 10,000 values through each script shell
const envNames = Array.from({ length: BATCH / 2 }, (_, i) => `OPSBOOK_PARAM_V${i}`);

describe('the step session through real shells', () => {
  // dash (Debian's sh), bash (sh on some distributions), BusyBox ash (Alpine's sh).
  for (const scriptShell of [['sh'], ['bash'], ['busybox', 'sh']]) {
    it(`${scriptShell.join(' ')} as the session shell delivers 10,000 generated values verbatim, in the command text and its environment, and executes none`, async () => {
      const { session } = startSession({ scriptShell });
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(hostileValue, { minLength: BATCH, maxLength: BATCH }),
          async (values) => {
            const inEnv = values.slice(0, BATCH / 2);
            const inText = values.slice(BATCH / 2);
            const command = [
              ...envNames.map((n) => `printf '%s\\0' "$${n}"`),
              ...inText.map((v) => `printf '%s\\0' ${quoteShellArg(v)}`),
            ].join('\n');
            const env = Object.fromEntries(envNames.map((n, i) => [n, inEnv[i] ?? '']));
            const r = await session.run({ command, env });
            expect(r.exitCode, r.stderr).toBe(0);
            const expected = Buffer.from(values.map((v) => `${v}\0`).join(''), 'utf8');
            expect(Buffer.from(r.stdout).equals(expected), JSON.stringify(values)).toBe(true);
            checked += values.length;
          },
        ),
        { numRuns: RUNS },
      );
      expect(checked).toBe(10_000);
      session.close();
      expect(existsSync(path.join(dir, 'CANARY'))).toBe(false);
    });
  }

  it('runs commands one after another with their own output, status and environment', async () => {
    const { session } = startSession();
    expect(await session.run({ command: 'echo out; echo err >&2; exit 7' })).toMatchObject({
      exitCode: 7,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
    });
    // Variables named like the script's own (n, nl, r, e) change nothing for later commands.
    const env = { A: 'first', n: 'N', nl: 'NL', r: 'exit 0', e: 'E' };
    expect((await session.run({ command: 'printf %s "$A$n$nl$r$e"', env })).stdout).toBe(
      'firstNNLexit 0E',
    );
    const next = await session.run({
      command: 'printf "[%s]" "$(env | grep -c ^A=)"; printf x >&2',
    });
    expect(next).toMatchObject({ exitCode: 0, stdout: '[0]', stderr: 'x' });
    const big = await session.run({ command: 'head -c 3000000 /dev/zero | tr "\\0" a' });
    expect(big.stdout.length).toBe(1024 * 1024); // kept up to the capture limit
    expect(big).toMatchObject({ exitCode: 0, truncated: true });
    expect((await session.run({ command: 'echo "$0"', shell: 'bash' })).stdout).toBe('bash\n');
    session.close();
  });

  it('ends cleanly: close resolves once the script read `exit 0` and ended by itself, not killed', async () => {
    const { session, child } = startSession();
    await session.run({ command: 'true' });
    await session.close();
    // The pipes may close later than the script's exit; the exit itself must already be in.
    expect({ code: child.exitCode, signal: child.signalCode }).toEqual({ code: 0, signal: null });
  });

  it('does not end a command on a marker it prints (it cannot know the random one)', async () => {
    const { session } = startSession();
    const fake = `OPSBOOK-END-${'0'.repeat(32)} 0`;
    const r = await session.run({
      command: `echo '${fake}'; echo '${fake}' >&2; echo more; exit 3`,
    });
    expect(r).toMatchObject({ exitCode: 3, stdout: `${fake}\nmore\n`, stderr: `${fake}\n` });
    session.close();
  });

  it.each([
    ['started directly', false],
    ['through a login shell, which it replaces', true],
  ])(
    'costs two processes per command (subshell and shell), however many variables: %s',
    async (_, loginShell) => {
      const log = path.join(dir, `strace.session.${loginShell}`);
      const prefix = ['strace', '-f', '-qq', '-e', 'trace=fork,vfork,clone,clone3', '-o', log];
      const { session, child } = startSession({ prefix, loginShell });
      const closed = new Promise((resolve) => child.once('close', resolve));
      await session.run({ command: 'true' });
      const names = Array.from({ length: 50 }, (_, i) => `V${i}`);
      await session.run({
        command: 'true',
        env: Object.fromEntries(names.map((n) => [n, "a'b\n$(c)"])),
      });
      session.close();
      await closed;
      const trace = await readFile(log, 'utf8');
      expect(trace.split('\n').filter((l) => /\b(v?fork|clone3?)\(/.test(l)).length).toBe(4);
    },
  );

  it('kills the command and its children on a timeout; the session then has ended', async () => {
    const { session } = startSession();
    const pidFile = path.join(dir, 'timeout.pid');
    const r = await session.run({
      command: `sleep 310 & echo $! > ${pidFile}; sleep 311`,
      timeoutMs: 300,
    });
    expect(r).toMatchObject({ timedOut: true, exitCode: null });
    expect(session.ended).toBe(true);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !alive(pid), 'the timed-out command to die');
    await expect(session.run({ command: 'true' })).rejects.toThrow(/ended/);
  });

  it('a clean close leaves what a step started on purpose running; an abort kills it', async () => {
    const { session } = startSession();
    const kept = await session.run({ command: 'sleep 312 >/dev/null 2>&1 & echo $!' });
    const keptPid = Number(kept.stdout);
    session.close();
    const other = startSession().session;
    expect((await other.run({ command: `kill -0 ${keptPid} && echo alive` })).stdout).toBe(
      'alive\n',
    );
    process.kill(keptPid, 'SIGKILL'); // ours: started by this test

    const controller = new AbortController();
    const pidFile = path.join(dir, 'abort.pid');
    const running = other.run({
      command: `sleep 313 & echo $! > ${pidFile}; echo started; sleep 314`,
      signal: controller.signal,
      onStdout: () => controller.abort(),
    });
    await expect(running).rejects.toMatchObject({ kind: 'interrupted' });
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !alive(pid), 'the aborted command to die');
  });

  it('gives output written after a command ended to the next command, not lost', async () => {
    const { session } = startSession();
    const go = path.join(dir, 'go');
    const written = path.join(dir, 'late-written');
    const first = await session.run({
      command: `( while [ ! -e ${go} ]; do sleep 0.02; done; echo late; touch ${written} ) & echo first`,
    });
    expect(first.stdout).toBe('first\n');
    await writeFile(go, '');
    const second = await session.run({
      command: `while [ ! -e ${written} ]; do sleep 0.02; done; echo second`,
    });
    expect(second.stdout).toBe('late\nsecond\n');
    session.close();
  });

  it('refuses a NUL byte before sending anything, and a cancelled command never starts', async () => {
    const { session } = startSession();
    await expect(session.run({ command: 'echo a\0b' })).rejects.toMatchObject({
      code: 'SHELL_NUL_BYTE',
    });
    await expect(
      session.run({ command: `touch ${path.join(dir, 'NEVER')}`, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: 'interrupted' });
    expect((await session.run({ command: 'echo still usable' })).stdout).toBe('still usable\n');
    expect(existsSync(path.join(dir, 'NEVER'))).toBe(false);
    session.close();
  });

  it('gives every session its own random 128-bit end marker, more sessions than one draw serves', async () => {
    const markers = new Set<string>();
    for (let i = 0; i < 600; i++) {
      let first = '';
      let exited = () => {};
      const session = new StepSession(
        {
          write: (text) => {
            first ||= text.split('\n')[0]!;
            if (text.endsWith('exit 0\n')) exited();
          },
          onStdout: () => {},
          onStderr: () => {},
          onClose: () => {},
          onExit: (l) => {
            exited = l;
          },
          destroy: () => {},
        },
        { host: 'local', lostError: () => new Error('session lost') },
      );
      await session.close(); // an unused session sends its marker in front of `exit 0`
      expect(first).toMatch(/^OPSBOOK-END-[0-9a-f]{32}$/);
      markers.add(first);
    }
    expect(markers.size).toBe(600);
  });

  it('reports the command lost when the session dies under it', async () => {
    const { session, child } = startSession();
    const running = session.run({ command: 'echo started; sleep 315', onStdout: () => {} });
    await waitFor(() => child.pid !== undefined, 'the session to start');
    process.kill(-(child.pid as number), 'SIGKILL'); // the whole group: ours
    await expect(running).rejects.toThrow('session lost');
  });
});

describe('EndMarkerScanner', () => {
  const marker = 'OPSBOOK-END-0123';
  it('finds the marker however the stream is cut, and holds back only what could start it', () => {
    const stream = Buffer.from(`out OPSBOOK-EN\xff put${marker} 42\nafter`, 'latin1');
    for (let size = 1; size <= stream.length; size++) {
      const scanner = new EndMarkerScanner(marker);
      const out: Buffer[] = [];
      let status: number | undefined;
      let rest = Buffer.alloc(0);
      for (let i = 0; i < stream.length && status === undefined; i += size) {
        const r = scanner.push(stream.subarray(i, i + size));
        out.push(r.output);
        status = r.status;
        rest = Buffer.concat([r.rest, stream.subarray(i + size)]);
      }
      expect(Buffer.concat(out).toString('latin1'), `chunks of ${size}`).toBe(
        'out OPSBOOK-EN\xff put',
      );
      expect(status).toBe(42);
      expect(rest.toString()).toBe('after');
    }
    const scanner = new EndMarkerScanner(marker);
    expect(scanner.push(Buffer.from('abc OPSB')).output.toString()).toBe('abc ');
    expect(scanner.push(Buffer.from('x')).output.toString()).toBe('OPSBx');
  });
});

/** Running, and not a zombie nobody reaped yet. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls a condition a bounded number of times (no wall-clock assertion: it only waits). */
async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}
