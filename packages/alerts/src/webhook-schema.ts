/**
 * Prometheus Alertmanager's webhook payload, version "4" (the only version it has sent since
 * 0.x; https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). Open objects:
 * a newer Alertmanager may add fields, and opsbook ignores what it does not read; what it reads
 * is checked and bounded, so a hostile or broken body is refused whole with a 400.
 */

/** RFC 3339 with up to nanoseconds, as Go's time.Time marshals it. */
const timestamp = {
  type: 'string',
  pattern:
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$',
} as const;

/** Labels or annotations: strings by name (Prometheus 3 allows any UTF-8 name). */
const stringMap = (maxValue: number) =>
  ({
    type: 'object',
    maxProperties: 128,
    propertyNames: { minLength: 1, maxLength: 256 },
    additionalProperties: { type: 'string', maxLength: maxValue },
  }) as const;

export const webhookAlertSchema = {
  type: 'object',
  required: ['status', 'labels', 'startsAt', 'fingerprint'],
  properties: {
    status: { enum: ['firing', 'resolved'] },
    labels: stringMap(4096),
    annotations: stringMap(65_536),
    startsAt: timestamp,
    endsAt: timestamp,
    generatorURL: { type: 'string', maxLength: 8192 },
    fingerprint: { type: 'string', pattern: '^[0-9A-Za-z]{1,64}$' },
  },
} as const;

export const webhookSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/alertmanager-webhook.json',
  title: 'Alertmanager webhook payload (version 4)',
  type: 'object',
  required: ['version', 'status', 'alerts'],
  properties: {
    version: { const: '4' },
    groupKey: { type: 'string', maxLength: 65_536 },
    truncatedAlerts: { type: 'integer', minimum: 0 },
    status: { enum: ['firing', 'resolved'] },
    receiver: { type: 'string', maxLength: 1024 },
    groupLabels: stringMap(4096),
    commonLabels: stringMap(4096),
    commonAnnotations: stringMap(65_536),
    externalURL: { type: 'string', maxLength: 8192 },
    // No count of its own: the receiver's --max-body bounds a body, and Alertmanager posts a storm's
    // group at once (max_alerts: 0); a 4xx answer to it is never sent again, and its alerts lost.
    alerts: { type: 'array', items: webhookAlertSchema },
  },
} as const;
