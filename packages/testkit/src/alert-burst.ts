import { Agent, request } from 'node:http';

/**
 * Alertmanager webhook payloads (version 4) for a burst of alerts, as Alertmanager would post them
 * grouped by `cluster` and `host`: one post per host holding all its alerts. Fingerprints are
 * Alertmanager's own (FNV-1a 64 of the sorted label set), so a receiver sees what a real one
 * sends; the self-test checks one against a fingerprint the real Alertmanager printed.
 */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

export interface AlertBurstOptions {
  alerts: number;
  hosts: number;
  /** Hosts are spread round robin over `cluster-1..N`, each with its own service; default 4. */
  clusters?: number;
  /** When the alerts started; default 2026-01-01T00:00:00Z. */
  startsAt?: Date;
  /** Alertmanager's external URL; default http://127.0.0.1:9093. */
  externalURL?: string;
}

/** Alert kinds a host gets, in turn; past ten, the kinds repeat on another `device`. */
export const BURST_ALERTNAMES: ReadonlyArray<{ alertname: string; severity: string }> = [
  { alertname: 'DiskFull', severity: 'critical' },
  { alertname: 'HighLoad', severity: 'warning' },
  { alertname: 'MemoryPressure', severity: 'warning' },
  { alertname: 'NodeDown', severity: 'critical' },
  { alertname: 'ServiceDown', severity: 'critical' },
  { alertname: 'HighLatency', severity: 'warning' },
  { alertname: 'ErrorRate', severity: 'warning' },
  { alertname: 'ClockSkew', severity: 'info' },
  { alertname: 'InodesFull', severity: 'warning' },
  { alertname: 'NetworkErrors', severity: 'info' },
];

/** `cluster-N` and its service `svc-N` of the i-th host (0-based), as `makeAlertBurst` spreads them. */
export function burstPlacement(index: number, clusters = 4): { cluster: string; service: string } {
  const n = (index % clusters) + 1;
  return { cluster: `cluster-${n}`, service: `svc-${n}` };
}

export function makeAlertBurst(options: AlertBurstOptions): WebhookPayload[] {
  const clusters = options.clusters ?? 4;
  const startsAt = (options.startsAt ?? new Date('2026-01-01T00:00:00Z')).toISOString();
  const externalURL = options.externalURL ?? 'http://127.0.0.1:9093';
  const width = Math.max(3, String(options.hosts).length);
  const payloads: WebhookPayload[] = [];
  for (let h = 0; h < options.hosts; h++) {
    const count =
      Math.floor(options.alerts / options.hosts) + (h < options.alerts % options.hosts ? 1 : 0);
    if (count === 0) continue;
    const host = `host-${String(h + 1).padStart(width, '0')}`;
    const { cluster, service } = burstPlacement(h, clusters);
    const alerts: WebhookAlert[] = [];
    for (let k = 0; k < count; k++) {
      const kind = BURST_ALERTNAMES[k % BURST_ALERTNAMES.length]!;
      const round = Math.floor(k / BURST_ALERTNAMES.length);
      const labels: Record<string, string> = {
        alertname: kind.alertname,
        cluster,
        host,
        instance: `${host}:9100`,
        job: 'node',
        service,
        severity: kind.severity,
        ...(round > 0 ? { device: `sd${String.fromCharCode(97 + (round % 26))}${round}` } : {}),
      };
      alerts.push({
        status: 'firing',
        labels,
        annotations: { summary: `${kind.alertname} on ${host}` },
        startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: `http://127.0.0.1:9090/graph?g0.expr=${encodeURIComponent(kind.alertname)}&g0.tab=1`,
        fingerprint: alertFingerprint(labels),
      });
    }
    payloads.push({
      version: '4',
      groupKey: `{}:{cluster="${cluster}", host="${host}"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'opsbook',
      groupLabels: { cluster, host },
      commonLabels: commonOf(alerts.map((a) => a.labels)),
      commonAnnotations: commonOf(alerts.map((a) => a.annotations)),
      externalURL,
      alerts,
    });
  }
  return payloads;
}

/**
 * An alerts.yaml (kind AlertRules) for a burst's world: one incident per `cluster` label,
 * critical on at least `p1MinHosts` hosts graded P1 (and, with `warningsP3`, any warning P3),
 * DiskFull suggesting the runbook disk-cleanup, owners taken round robin.
 */
export function clusterAlertRules(options: {
  owners: readonly string[];
  p1MinHosts: number;
  warningsP3?: boolean;
  version?: number;
}): string {
  return [
    'apiVersion: opsbook/v1',
    'kind: AlertRules',
    `version: ${options.version ?? 1}`,
    'correlate:',
    '  - {name: cluster, by: {labels: [cluster]}}',
    'grading:',
    '  rules:',
    `    - {grade: P1, when: {minSeverity: critical, minHosts: ${options.p1MinHosts}}}`,
    ...(options.warningsP3 ? ['    - {grade: P3, when: {minSeverity: warning}}'] : []),
    'runbooks:',
    '  - {match: {alertname: DiskFull}, runbook: disk-cleanup}',
    'ownership:',
    `  default: {roundRobin: [${options.owners.join(', ')}]}`,
    '',
  ].join('\n');
}

/** Alertmanager's fingerprint of a label set: FNV-1a 64 over name 0xff value 0xff, names sorted. */
export function alertFingerprint(labels: Readonly<Record<string, string>>): string {
  const prime = 1099511628211n;
  const mask = 0xffffffffffffffffn;
  let hash = 14695981039346656037n;
  const add = (byte: number) => {
    hash = ((hash ^ BigInt(byte)) * prime) & mask;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const byte of Buffer.from(name, 'utf8')) add(byte);
    add(0xff);
    for (const byte of Buffer.from(labels[name]!, 'utf8')) add(byte);
    add(0xff);
  }
  return hash.toString(16).padStart(16, '0');
}

function commonOf(sets: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = sets;
  if (!first) return {};
  return Object.fromEntries(
    Object.entries(first).filter(([k, v]) => rest.every((s) => s[k] === v)),
  );
}

/** What became of one post: the HTTP status, or the error when no answer came. */
export type PostOutcome = { status: number; body: string } | { error: string };

/**
 * Posts the payloads to `url` with `concurrency` posts in flight over keep-alive connections, as
 * Alertmanager's HTTP client does, and says what became of each (same index). It never retries:
 * a caller re-sends what was not answered 2xx, as Alertmanager does.
 */
export async function postWebhooks(
  url: string,
  bodies: ReadonlyArray<string>,
  options: {
    concurrency?: number;
    headers?: Record<string, string>;
    /** Told of each post's outcome as it comes (to kill the receiver mid-burst, say). */
    onOutcome?: (index: number, outcome: PostOutcome) => void;
  } = {},
): Promise<PostOutcome[]> {
  const concurrency = options.concurrency ?? 8;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const outcomes: PostOutcome[] = new Array(bodies.length);
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const i = next++;
      const outcome = await postOne(url, bodies[i]!, agent, options.headers ?? {});
      outcomes[i] = outcome;
      options.onOutcome?.(i, outcome);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker));
  } finally {
    agent.destroy();
  }
  return outcomes;
}

function postOne(
  url: string,
  body: string,
  agent: Agent,
  headers: Record<string, string>,
): Promise<PostOutcome> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', (e) => resolve({ error: e.message }));
      },
    );
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(body);
  });
}
