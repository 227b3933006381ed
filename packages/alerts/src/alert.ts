import {
  MAX_SOURCE_BYTES,
  type Problem,
  parseJsonSource,
  schemaProblems,
  type Validator,
  type YamlSource,
} from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { alertsErrors } from './error-codes.js';
import { validateWebhook as generatedValidateWebhook } from './generated/validators.js';
import type { webhookSchema } from './webhook-schema.js';

export type WebhookPayload = FromSchema<typeof webhookSchema>;
type WebhookAlert = WebhookPayload['alerts'][number];

const validateWebhook = generatedValidateWebhook as unknown as Validator<WebhookPayload>;

/**
 * One alert as opsbook stores it: what Alertmanager sent for it, and when it arrived. The same
 * alert sent again (a retry, a repeat while it fires) has the same fingerprint, startsAt and
 * status, and is stored once (`alertKey`).
 */
export interface AlertRecord {
  fingerprint: string;
  /** As Alertmanager sent it (RFC 3339, up to nanoseconds): part of the dedupe key. */
  startsAt: string;
  status: 'firing' | 'resolved';
  /** When it resolved (resolved alerts only; Alertmanager's zero time is dropped). */
  endsAt?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL?: string;
  /** ISO time opsbook received it. */
  receivedAt: string;
  /** The Alertmanager receiver it came through. */
  receiver?: string;
  /**
   * The externalURL of the Alertmanager that sent it: tells the two of an HA pair apart, for
   * the round of a late duplicate (alert-round.ts).
   */
  sender?: string;
  /**
   * How many times it resolved before, with this startsAt (absent: never). Alertmanager notifies
   * an alert firing again with the startsAt it resolved with when Prometheus sends it again with
   * the ActiveAt it kept (a restart, a cut longer than endsAt): that firing is a new delivery,
   * not a repeat of the first. Set by the store as it stores it, from what it holds
   * (alert-round.ts), whichever receiver stored the rounds before.
   */
  round?: number;
}

/** What makes two deliveries the same alert: a retry of either is stored once. */
export function alertKey(
  a: Pick<AlertRecord, 'fingerprint' | 'startsAt' | 'status' | 'round'>,
): string {
  const key = `${a.fingerprint}|${a.startsAt}|${a.status}`;
  return a.round ? `${key}|${a.round}` : key;
}

/** Which alert, by fingerprint and startsAt, whatever its status and round. */
export function firingKey(a: Pick<AlertRecord, 'fingerprint' | 'startsAt'>): string {
  return `${a.fingerprint}|${a.startsAt}`;
}

/** The alertname label, or a stand-in that says it had none. */
export function alertName(a: Pick<AlertRecord, 'labels'>): string {
  return a.labels.alertname ?? '(no alertname)';
}

/** Go's zero time, which Alertmanager sends as endsAt of a firing alert. */
const ZERO_TIME = /^0001-01-01T/;

function recordOf(
  alert: WebhookAlert,
  receivedAt: string,
  receiver?: string,
  sender?: string,
): AlertRecord {
  const record: AlertRecord = {
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    status: alert.status,
    labels: alert.labels,
    annotations: alert.annotations ?? {},
    receivedAt,
  };
  if (alert.status === 'resolved' && alert.endsAt && !ZERO_TIME.test(alert.endsAt))
    record.endsAt = alert.endsAt;
  if (alert.generatorURL) record.generatorURL = alert.generatorURL;
  if (receiver) record.receiver = receiver;
  if (sender) record.sender = sender;
  return record;
}

/**
 * The alerts of one webhook body (Alertmanager version 4), or ALERT_PAYLOAD_INVALID naming
 * each problem at its line and column in the body (`source` names the body in messages: the
 * file given to `opsbook alerts ingest`, or `request from ADDRESS`). JSON.parse and the
 * generated validator take a valid body; only a refused one is parsed again for positions.
 */
export function parseWebhookBody(
  body: Uint8Array | string,
  receivedAt: Date,
  source: string,
): AlertRecord[] {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (isNestedTooDeep(text)) throw tooDeep(source);
  let value: unknown;
  try {
    value = JSON.parse(withoutNulEscapes(text));
  } catch {
    value = undefined;
  }
  if (value === undefined || !validateWebhook(value)) throw invalidBody(body, source, value);
  const at = receivedAt.toISOString();
  return value.alerts.map((a) => recordOf(a, at, value.receiver, value.externalURL));
}

/** A `\u0000` escape: one not itself escaped (after an even run of backslashes). */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * The JSON text with each `\u0000` escape made `\ufffd`: a label or annotation holding NUL
 * (scraped or host-controlled data) is kept with U+FFFD in its place. PostgreSQL's jsonb refuses
 * NUL, and a post that cannot be stored is answered 503: Alertmanager would send the same group
 * again for as long as the alert fires, and every alert of it would be lost with that one.
 */
function withoutNulEscapes(text: string): string {
  return text.includes('\\u0000') ? text.replace(NUL_ESCAPE, '$1\\ufffd') : text;
}

/**
 * A body of another webhook version: said as that, at its `version`, rather than as the keys
 * version 4 has and it lacks (Alertmanager before 0.x sent version 3 without fingerprints).
 */
function otherVersion(located: YamlSource): Problem[] {
  const v = located.value as { version?: unknown } | undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v) || v.version === undefined) return [];
  if (v.version === '4') return [];
  const said = typeof v.version === 'string' ? v.version : JSON.stringify(v.version);
  return [
    {
      file: located.file,
      ...located.locate(['version']),
      rule: 'webhook-version',
      message: `Alertmanager webhook version ${said}: opsbook reads version 4 (what current Alertmanager releases send, with each alert's fingerprint): upgrade the Alertmanager that sent it`,
    },
  ];
}

/**
 * Deepest nesting read: a version 4 body nests four levels (body, alerts, an alert, its labels); a field a newer
 * Alertmanager adds may nest a few more. JSON.parse takes seconds over megabytes of `[`.
 */
const MAX_DEPTH = 32;

/** Whether the JSON text opens more than MAX_DEPTH arrays or objects at once (strings skipped). */
function isNestedTooDeep(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: on to its closing quote, past escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function tooDeep(source: string) {
  return new alertsErrors.ValidationError(
    [
      {
        file: source,
        line: 0,
        col: 0,
        rule: 'too-deep',
        message: `nested deeper than ${MAX_DEPTH} levels: not an Alertmanager body (version 4 nests 4: the body, its alerts, an alert, its labels)`,
      },
    ],
    'ALERT_PAYLOAD_INVALID',
  );
}

/**
 * A body past the size opsbook locates problems in (MAX_SOURCE_BYTES: an Alertmanager storm
 * group is larger): its problems by path alone, from the value JSON.parse gave.
 */
function unlocated(source: string, value: unknown): YamlSource {
  return {
    file: source,
    text: '',
    value,
    problems: [],
    locate: () => ({ line: 0, col: 0 }),
    span: () => undefined,
  };
}

function invalidBody(body: Uint8Array | string, source: string, parsed: unknown) {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  const located =
    size > MAX_SOURCE_BYTES ? unlocated(source, parsed) : parseJsonSource(source, body);
  const version = located.problems.length ? [] : otherVersion(located);
  const problems =
    located.problems.length || located.value === undefined
      ? located.problems
      : version.length
        ? version
        : validateWebhook(located.value)
          ? []
          : schemaProblems(located, validateWebhook.errors);
  return new alertsErrors.ValidationError(
    problems.length
      ? problems
      : [
          {
            file: source,
            line: 0,
            col: 0,
            rule: 'bad-json',
            message: 'not a JSON document: Alertmanager sends a JSON object with version "4"',
          },
        ],
    'ALERT_PAYLOAD_INVALID',
  );
}
