import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findFreePort } from './sshd.js';

/**
 * A real Prometheus and a real Alertmanager for tests (real parts, not fakes: see testkit README),
 * the Debian packages `prometheus` (2.42) and `prometheus-alertmanager` (0.25): each on a free
 * loopback port with its config, data and log in one temp dir, Alertmanager's cluster port off, so
 * neither the packages' default ports (9090, 9093, 9094) nor their services are used. Prometheus
 * scrapes the given targets every second and evaluates the rules every second; Alertmanager
 * groups with short timers and posts its webhook (payload version 4) to the given URL.
 *
 * Both run under `setpriv --pdeathsig KILL`, so they die with the test process even when it is
 * killed before `dispose()`.
 */
export interface AlertRule {
  alert: string;
  expr: string;
  /** Default `0s`: the alert fires on the first evaluation that matches. */
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface WebhookTarget {
  url: string;
  /** Sent as `Authorization: Bearer …` (Alertmanager's `http_config.authorization`). */
  bearerToken?: string;
  /** Sent as HTTP basic auth (Alertmanager's `http_config.basic_auth`). */
  basicAuth?: { username: string; password: string };
  /** Default true: resolved alerts are posted too. */
  sendResolved?: boolean;
  /** Most alerts in one post; default 0 (all). */
  maxAlerts?: number;
}

export interface AlertmanagerOptions {
  webhook: WebhookTarget;
  /** Default `['alertname', 'cluster']`; `['...']` posts each alert on its own. */
  groupBy?: string[];
  /** Defaults 1s, 1s and 1h. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Path of the binary; default /usr/bin/prometheus-alertmanager. */
  binary?: string;
}

export interface PrometheusOptions {
  /** `host:port` of the exporters to scrape (with `honor_labels`, every second). */
  scrapeTargets: string[];
  rules: AlertRule[];
  /** `host:port` of the Alertmanager to send alerts to. */
  alertmanager?: string;
  /** Path of the binary; default /usr/bin/prometheus. */
  binary?: string;
}

export interface Daemon {
  /** `http://127.0.0.1:PORT` (also its `--web.external-url`, so generator URLs point here). */
  url: string;
  /** `127.0.0.1:PORT`. */
  target: string;
  dir: string;
  pid: number;
  /** Everything it logged so far. */
  log(): string;
  /** Stops it (SIGTERM, SIGKILL if it lingers) and removes its temp dir. */
  dispose(): Promise<void>;
}

/** What Alertmanager holds (`GET /api/v2/alerts`), the fields tests look at. */
export interface HeldAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: string };
}

/** An alert as Prometheus posts it to Alertmanager (`POST /api/v2/alerts`). */
export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface Alertmanager extends Daemon {
  alerts(): Promise<HeldAlert[]>;
  /** Posts alerts as Prometheus does; throws unless Alertmanager answers 200. */
  post(alerts: PostedAlert[]): Promise<void>;
}

export interface AlertingStack {
  prometheus: Daemon;
  alertmanager: Alertmanager;
  /** Both logs, for a failing test's message. */
  log(): string;
  dispose(): Promise<void>;
}

const READY_ATTEMPTS = 600;
const READY_POLL_MS = 100;
const STOP_GRACE_MS = 10_000;
const ADDRESS = '127.0.0.1';

/** Prometheus scraping the exporters and an Alertmanager posting to the webhook. */
export async function startAlertingStack(
  options: AlertmanagerOptions & Omit<PrometheusOptions, 'alertmanager' | 'binary'>,
): Promise<AlertingStack> {
  const alertmanager = await startAlertmanager(options);
  try {
    const prometheus = await startPrometheus({ ...options, alertmanager: alertmanager.target });
    return {
      prometheus,
      alertmanager,
      log: () =>
        `--- prometheus ---\n${prometheus.log()}\n--- alertmanager ---\n${alertmanager.log()}`,
      async dispose() {
        await Promise.all([prometheus.dispose(), alertmanager.dispose()]);
      },
    };
  } catch (e) {
    await alertmanager.dispose();
    throw e;
  }
}

export async function startAlertmanager(options: AlertmanagerOptions): Promise<Alertmanager> {
  const binary = options.binary ?? '/usr/bin/prometheus-alertmanager';
  requireBinary(binary, 'Alertmanager', 'prometheus-alertmanager');
  const config = {
    route: {
      receiver: 'opsbook',
      group_by: options.groupBy ?? ['alertname', 'cluster'],
      group_wait: options.groupWait ?? '1s',
      group_interval: options.groupInterval ?? '1s',
      repeat_interval: options.repeatInterval ?? '1h',
    },
    receivers: [{ name: 'opsbook', webhook_configs: [webhookConfig(options.webhook)] }],
  };
  const daemon = await launchDaemon(
    'Alertmanager',
    binary,
    'opsbook-alertmanager-',
    {
      // JSON is YAML: no quoting of our own.
      'alertmanager.yml': JSON.stringify(config, null, 2),
    },
    (dir, url, target) => [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${target}`,
      `--web.external-url=${url}/`,
      '--cluster.listen-address=',
    ],
  );
  return {
    ...daemon,
    async alerts() {
      const res = await fetch(`${daemon.url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`Alertmanager answered ${res.status} to GET /api/v2/alerts`);
      return (await res.json()) as HeldAlert[];
    },
    async post(alerts) {
      const res = await fetch(`${daemon.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (res.status !== 200)
        throw new Error(
          `Alertmanager answered ${res.status} to POST /api/v2/alerts: ${await res.text()}`,
        );
    },
  };
}

export async function startPrometheus(options: PrometheusOptions): Promise<Daemon> {
  const binary = options.binary ?? '/usr/bin/prometheus';
  requireBinary(binary, 'Prometheus', 'prometheus');
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ['rules.yml'],
    ...(options.alertmanager
      ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } }
      : {}),
    scrape_configs: [
      {
        job_name: 'opsbook-test',
        honor_labels: true,
        static_configs: [{ targets: options.scrapeTargets }],
      },
    ],
  };
  const rules = { groups: [{ name: 'opsbook-test', rules: options.rules.map(ruleConfig) }] };
  return launchDaemon(
    'Prometheus',
    binary,
    'opsbook-prometheus-',
    {
      'prometheus.yml': JSON.stringify(config, null, 2),
      'rules.yml': JSON.stringify(rules, null, 2),
    },
    (dir, url, target) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${target}`,
      `--web.external-url=${url}/`,
      // Alerts reach Alertmanager within a second of firing or resolving (default 1m).
      '--rules.alert.resend-delay=1s',
    ],
  );
}

function requireBinary(binary: string, name: string, debianPackage: string): void {
  if (!existsSync(binary)) {
    throw new Error(
      `${name} not found at ${binary}: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage}, or bash scripts/setup-test-host.sh)`,
    );
  }
}

function webhookConfig(webhook: WebhookTarget): Record<string, unknown> {
  const httpConfig = {
    ...(webhook.bearerToken
      ? { authorization: { type: 'Bearer', credentials: webhook.bearerToken } }
      : {}),
    ...(webhook.basicAuth ? { basic_auth: webhook.basicAuth } : {}),
  };
  return {
    url: webhook.url,
    send_resolved: webhook.sendResolved ?? true,
    max_alerts: webhook.maxAlerts ?? 0,
    ...(Object.keys(httpConfig).length > 0 ? { http_config: httpConfig } : {}),
  };
}

function ruleConfig(rule: AlertRule): Record<string, unknown> {
  return {
    alert: rule.alert,
    expr: rule.expr,
    for: rule.for ?? '0s',
    ...(rule.labels ? { labels: rule.labels } : {}),
    ...(rule.annotations ? { annotations: rule.annotations } : {}),
  };
}

/**
 * Writes the files into a fresh temp dir and starts the binary on a free port until `/-/ready`
 * answers 200; another process may take the port between the probe and the bind, so a bind
 * failure tries another port.
 */
async function launchDaemon(
  name: string,
  binary: string,
  prefix: string,
  files: Record<string, string>,
  argsFor: (dir: string, url: string, target: string) => string[],
): Promise<Daemon> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
    for (let attempt = 0; ; attempt++) {
      const port = await findFreePort(ADDRESS);
      const target = `${ADDRESS}:${port}`;
      const url = `http://${target}`;
      const child = spawn(
        'setpriv',
        ['--pdeathsig', 'KILL', '--', binary, ...argsFor(dir, url, target)],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let log = '';
      const append = (text: string) => {
        log += text;
      };
      child.stdout?.setEncoding('utf8').on('data', append);
      child.stderr?.setEncoding('utf8').on('data', append);
      const failure = await waitReady(child, `${url}/-/ready`);
      if (!failure) {
        return {
          url,
          target,
          dir,
          pid: child.pid ?? 0,
          log: () => log,
          async dispose() {
            await stopDaemon(child);
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await stopDaemon(child);
      if (attempt < 4 && log.includes('address already in use')) continue;
      throw new Error(`${name} on ${target} did not start (${failure}); its log:\n${log}`);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Undefined once `/-/ready` answers 200; otherwise why it never did. */
async function waitReady(child: ChildProcess, readyUrl: string): Promise<string | undefined> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (e) => {
    exited = `could not be started: ${e.message}`;
  });
  for (let i = 0; i < READY_ATTEMPTS && !exited; i++) {
    const ready = await fetch(readyUrl).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) return undefined;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  return exited ?? `${readyUrl} never answered 200`;
}

/** SIGTERM is a clean shutdown for both; SIGKILL if one has not exited after the grace time. */
async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
