import { ValidationError } from '@opsbook/schema';
import { describe, expect, it, vi } from 'vitest';
import { webhookPayload } from './__fixtures__/webhook.js';
import { alertKey, parseWebhookBody } from './alert.js';

const at = new Date('2024-05-01T10:00:05Z');

function refusal(body: string): ValidationError {
  try {
    parseWebhookBody(body, at, 'body.json');
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('the body was accepted');
}

describe('parseWebhookBody', () => {
  it("keeps what opsbook needs of each alert and drops Alertmanager's zero endsAt", () => {
    const body = webhookPayload([
      { labels: { alertname: 'DiskFull', instance: 'web-01:9100' }, annotations: { summary: 'x' } },
      {
        status: 'resolved',
        labels: { alertname: 'DiskFull', instance: 'web-02:9100' },
        endsAt: '2024-05-01T10:05:00Z',
      },
    ]);
    const records = parseWebhookBody(JSON.stringify(body), at, 'body.json');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      status: 'firing',
      startsAt: '2024-05-01T10:00:00.123456789Z',
      labels: { alertname: 'DiskFull', instance: 'web-01:9100' },
      annotations: { summary: 'x' },
      receivedAt: '2024-05-01T10:00:05.000Z',
      receiver: 'opsbook',
    });
    expect(records[0]).not.toHaveProperty('endsAt');
    expect(records[1]).toMatchObject({ status: 'resolved', endsAt: '2024-05-01T10:05:00Z' });
    expect(alertKey(records[0]!)).not.toBe(alertKey(records[1]!));
  });

  it('keeps an alert whose label holds NUL, with U+FFFD in its place (PostgreSQL jsonb refuses NUL)', () => {
    const body = JSON.stringify(
      webhookPayload([
        { labels: { alertname: 'Bad\u0000x', host: 'h2' } },
        { labels: { alertname: 'Literal', note: 'a \\u0000 b' } },
      ]),
    );
    expect(body).toContain('Bad\\u0000x');
    const [bad, literal] = parseWebhookBody(body, new Date('2024-05-01T10:00:01Z'), 'test');
    expect(bad?.labels.alertname).toBe('Bad\ufffdx');
    // An escaped backslash before u0000 is text, not a NUL: kept as written.
    expect(literal?.labels.note).toBe('a \\u0000 b');
  });

  it('accepts fields a newer Alertmanager may add, at the top and in alerts', () => {
    const body = webhookPayload([{ labels: { alertname: 'Up' } }]) as Record<string, unknown>;
    body.newField = { anything: true };
    (body.alerts as Record<string, unknown>[])[0]!.silencedBy = [];
    expect(parseWebhookBody(JSON.stringify(body), at, 'body.json')).toHaveLength(1);
  });

  it('refuses a body that is not JSON, saying so', () => {
    const e = refusal('{"version": "4",\n  "alerts": [}');
    expect(e.code).toBe('ALERT_PAYLOAD_INVALID');
    expect(e.problems[0]).toMatchObject({ file: 'body.json', rule: 'bad-json' });
    expect(e.problems[0]?.message).toMatch(/^invalid JSON/);
  });

  it('refuses a bad status and a label that is not a string, each at its place', () => {
    const body = webhookPayload([{ labels: { alertname: 'Up' } }]) as Record<string, unknown>;
    const alert = (body.alerts as Record<string, unknown>[])[0]!;
    alert.status = 'pending';
    alert.labels = { alertname: 7 };
    const e = refusal(JSON.stringify(body, null, 2));
    const messages = e.problems.map((p) => `${p.line}:${p.message}`).join('\n');
    expect(e.problems.length).toBeGreaterThanOrEqual(2);
    expect(messages).toMatch(/firing, resolved/);
    expect(e.problems.every((p) => p.line > 0)).toBe(true);
  });

  it('says a version 3 body is one, at its version, rather than listing the keys version 4 adds', () => {
    const body = webhookPayload([{ labels: { alertname: 'Up' } }]) as Record<string, unknown>;
    body.version = '3';
    for (const a of body.alerts as Record<string, unknown>[]) delete a.fingerprint;
    const e = refusal(JSON.stringify(body, null, 2));
    expect(e.code).toBe('ALERT_PAYLOAD_INVALID');
    expect(e.problems).toEqual([
      {
        file: 'body.json',
        line: 2,
        col: 14,
        rule: 'webhook-version',
        message:
          "Alertmanager webhook version 3: opsbook reads version 4 (what current Alertmanager releases send, with each alert's fingerprint): upgrade the Alertmanager that sent it",
      },
    ]);
  });

  it('refuses a missing fingerprint and a startsAt that is not RFC 3339', () => {
    const body = webhookPayload([{ labels: { alertname: 'Up' } }]) as Record<string, unknown>;
    const alert = (body.alerts as Record<string, unknown>[])[0]!;
    delete alert.fingerprint;
    alert.startsAt = 'yesterday';
    const e = refusal(JSON.stringify(body));
    expect(e.problems.map((p) => p.message).join('\n')).toMatch(/fingerprint/);
    expect(e.problems.map((p) => p.message).join('\n')).toMatch(/startsAt|pattern/);
  });

  it('takes a group of more than 10,000 alerts in one body: Alertmanager posts a storm group at once', () => {
    const alerts = Array.from({ length: 10_001 }, (_, i) => ({
      labels: { alertname: 'NodeDown', host: `h-${i}` },
    }));
    const body = JSON.stringify(webhookPayload(alerts));
    expect(parseWebhookBody(body, at, 'body.json')).toHaveLength(10_001);
  });

  it('says what is wrong with a refused body past 1 MiB, not that a file is too long', () => {
    const alerts = Array.from({ length: 5_000 }, (_, i) => ({
      labels: { alertname: 'NodeDown', host: `h-${i}` },
    }));
    const body = webhookPayload(alerts) as Record<string, unknown>;
    (body.alerts as Record<string, unknown>[])[4_321]!.status = 'pending';
    const text = JSON.stringify(body);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    const e = refusal(text);
    expect(e.code).toBe('ALERT_PAYLOAD_INVALID');
    const messages = e.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/alerts\[4321\]\.status.*firing, resolved/);
    expect(messages).not.toMatch(/1 MiB|split it/);
    expect(refusal(`${text.slice(0, -1)},`).problems[0]?.message).toMatch(/not a JSON document/);
  });

  it('refuses a body nested deeper than any Alertmanager body at once, without parsing it', () => {
    // JSON.parse alone takes seconds over 8 MiB of '[' (twice, with the positions' reading): it
    // is never called for such a body.
    const parse = vi.spyOn(JSON, 'parse');
    let e: ReturnType<typeof refusal>;
    try {
      e = refusal('['.repeat(8 * 1024 * 1024));
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    expect(e.problems[0]?.message).toMatch(/nested deeper than 32 levels/);
    const shallow = refusal(`{"version":"4","x":${'['.repeat(31)}${']'.repeat(31)}}`); // 32 levels
    expect(shallow.problems[0]?.message).not.toMatch(/nested deeper/);
    const bracketsInLabel = webhookPayload([{ labels: { alertname: '[{'.repeat(40) } }]);
    expect(parseWebhookBody(JSON.stringify(bracketsInLabel), at, 'body.json')).toHaveLength(1);
  });

  it('refuses an empty body and a JSON value that is not an object', () => {
    expect(refusal('').code).toBe('ALERT_PAYLOAD_INVALID');
    expect(refusal('[1,2]').code).toBe('ALERT_PAYLOAD_INVALID');
  });
});
