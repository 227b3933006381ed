import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile as copyLocalFile, writeFile as writeLocalFile } from 'node:fs/promises';
import { InterruptedError } from '@opsbook/schema';
import {
  execStreamLocal,
  type LocalSpawnOptions,
  localSpawnFailed,
  type StreamingTransport,
  streamExecKey,
} from './exec-stream.js';
import { inheritedStepEnv } from './inherited-step-env.js';
import { encodeEnvBlock, shellInvocation } from './shell-invocation.js';
import {
  capturedStreams,
  DEFAULT_MAX_CAPTURED_BYTES,
  type ExecRequest,
  type ExecResult,
  OutputCapture,
} from './transport.js';

export interface LocalTransportOptions {
  /** Name reported as the host; default `localhost`. */
  host?: string;
  /** Working folder of commands; default the current one. */
  cwd?: string;
  /** Milliseconds clock for durations; default Date.now. */
  now?: () => number;
  /**
   * The runner's environment; default process.env. Commands get only its allow-listed part
   * (PATH, HOME, LANG, LC_*, …: see `inheritedStepEnv`) plus the variables of their request.
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs commands on this machine with the same wrapper as over SSH (`shellInvocation`), so local
 * and remote steps behave alike: env on stdin, `sudo -n`, process-group kill on timeout or abort,
 * and an explicit environment instead of the runner's own (`inheritedStepEnv`).
 * Uses node:child_process directly: zx's `$` quotes for us, and we must own quoting and argv here.
 */
export function createLocalTransport(options: LocalTransportOptions = {}): StreamingTransport {
  const now = options.now ?? Date.now;
  const host = options.host ?? 'localhost';
  const spawnOptions = { cwd: options.cwd, env: inheritedStepEnv(options.env ?? process.env) };
  return {
    host,
    [streamExecKey]: (request) => execStreamLocal({ ...spawnOptions, host }, request),
    exec: (request) => execLocal(request, spawnOptions, now),
    async writeFile(remotePath, bytes, writeOptions) {
      writeOptions?.signal?.throwIfAborted();
      await writeLocalFile(remotePath, bytes, { mode: writeOptions?.mode ?? 0o600 });
      if (writeOptions?.mode !== undefined) await chmod(remotePath, writeOptions.mode);
    },
    async copyFile(localPath, remotePath, copyOptions) {
      copyOptions?.signal?.throwIfAborted();
      await copyLocalFile(localPath, remotePath);
      if (copyOptions?.mode !== undefined) await chmod(remotePath, copyOptions.mode);
    },
    async close() {},
  };
}

/** How often an ended command's process group is looked for, and how long its pipes drain. */
const ORPHAN_DRAIN_MS = 200;

/**
 * Whether a process of the group `pid` leads is still running. A zombie does not count: an
 * orphan is reaped by init, which in a container may be slow to do it, or never does.
 */
function groupAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc to tell a zombie by: the group is there
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function execLocal(
  request: ExecRequest,
  { cwd, env }: LocalSpawnOptions,
  now: () => number,
): Promise<ExecResult> {
  const envBlock = encodeEnvBlock(request.env);
  if (request.signal?.aborted)
    return Promise.reject(new InterruptedError('the command was cancelled before it started'));
  const [file = 'sh', ...args] = shellInvocation(request);
  const started = now();
  const limit = request.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES;
  const stdout = new OutputCapture(request.onStdout, limit);
  const stderr = new OutputCapture(request.onStderr, limit);
  return new Promise((resolve, reject) => {
    // detached: the wrapper leads its own process group, so one kill reaches every child.
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let timedOut = false;
    let aborted = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timer =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup();
          }, request.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.stdin.on('error', () => {}); // EPIPE when the command exits without reading: harmless
    child.stdin.write(envBlock);
    child.once('error', (e) => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      reject(localSpawnFailed(file, e));
    });
    // A process the command started in a session of its own (setsid, a daemon) may hold stdout
    // open after the command and its process group have ended: 'close' would wait for it, and
    // a step, even a timed-out one, would never end. Once the group is gone, what is left in the
    // pipes is read and they are closed (as sshd ends a channel when the command exits).
    let orphanWatch: NodeJS.Timeout | undefined;
    child.once('exit', () => {
      orphanWatch = setInterval(() => {
        if (groupAlive(child.pid)) return;
        clearInterval(orphanWatch);
        orphanWatch = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
        }, ORPHAN_DRAIN_MS);
      }, ORPHAN_DRAIN_MS);
      orphanWatch.unref();
    });
    child.once('close', (code, signal) => {
      clearInterval(orphanWatch);
      clearTimeout(orphanWatch);
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      child.stdin.destroy();
      stdout.end();
      stderr.end();
      if (aborted) return reject(new InterruptedError('the command was cancelled and killed'));
      resolve({
        exitCode: timedOut ? null : code,
        signal: signal ?? null,
        timedOut,
        ...capturedStreams(stdout, stderr),
        durationMs: now() - started,
      });
    });
  });
}
