import { type ChildProcess, spawn } from 'node:child_process';
import { binPath, userEnv } from './run-cli.js';

/** `opsbook alerts serve` running as a user starts it, and what it wrote so far. */
export interface ServeProcess {
  /** The address it printed on its first line. */
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  post(body: string | object, headers?: Record<string, string>, path?: string): Promise<Response>;
}

/**
 * Starts the built binary with `args` after `alerts serve` and waits for its address line;
 * `prefix` runs it under another program (strace), which then is the child.
 */
export function startServe(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; prefix?: string[] },
): Promise<ServeProcess> {
  const [command, ...rest] = [
    ...(options.prefix ?? []),
    process.execPath,
    binPath,
    'alerts',
    'serve',
    ...args,
  ];
  const child = spawn(command!, rest, {
    cwd: options.cwd,
    env: userEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const first = /^listening on (http:\/\/\S+)\n/.exec(stdout);
      if (!first) return;
      const url = first[1]!;
      resolve({
        url,
        child,
        stdout: () => stdout,
        stderr: () => stderr,
        stop: async (signal = 'SIGTERM') => {
          child.kill(signal);
          return exited;
        },
        post: (body, headers = {}, path = 'alerts') =>
          fetch(`${url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: typeof body === 'string' ? body : JSON.stringify(body),
          }),
      });
    });
    exited.then((code) =>
      reject(new Error(`opsbook alerts serve exited ${code} before listening:\n${stderr}`)),
    );
  });
}

/**
 * Waits until `check` holds, looking every 250 ms for `ms` at most; else fails naming `what`,
 * with `log()` (the receivers' and Alertmanagers' logs).
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  log: () => string,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${ms} ms:\n${log()}`);
}

/**
 * A version 4 webhook body, as Alertmanager posts it, holding one firing alert (its `endsAt` the
 * zero time Alertmanager gives an alert with none).
 */
export function webhookBody(alert: {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  fingerprint: string;
}): object {
  return {
    version: '4',
    groupKey: '{}:{}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'opsbook',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: alert.labels,
        annotations: alert.annotations ?? {},
        startsAt: alert.startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: alert.fingerprint,
      },
    ],
  };
}
