import { createHash } from 'node:crypto';

/** One alert as Alertmanager puts it in a webhook body. */
export interface FixtureAlert {
  status?: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint?: string;
}

/** Alertmanager's fingerprint stand-in: 16 hex digits derived from the labels, as it does. */
export function fingerprintOf(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u00ff${labels[k]}\u00ff`)
    .join('');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A version 4 webhook body, as Alertmanager 0.2x sends it. */
export function webhookPayload(alerts: FixtureAlert[], receiver = 'opsbook'): object {
  const full = alerts.map((a) => ({
    status: a.status ?? 'firing',
    labels: a.labels,
    annotations: a.annotations ?? {},
    startsAt: a.startsAt ?? '2024-05-01T10:00:00.123456789Z',
    endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
    generatorURL:
      a.generatorURL ??
      `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(a.labels.alertname ?? 'up')}`,
    fingerprint: a.fingerprint ?? fingerprintOf(a.labels),
  }));
  const common = full[0]?.labels.alertname;
  return {
    version: '4',
    groupKey: `{}:{alertname="${common ?? ''}"}`,
    truncatedAlerts: 0,
    status: full.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver,
    groupLabels: common ? { alertname: common } : {},
    commonLabels: common ? { alertname: common } : {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: full,
  };
}
