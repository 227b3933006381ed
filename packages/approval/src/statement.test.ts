import { describe, expect, it } from 'vitest';
import { createStatement, parseStatement, reviseStatement, statementBytes } from './statement.js';

const input = {
  ticket: 'OPS-1',
  runbook: { name: 'disk-cleanup', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` },
  params: { days: 7, path: '/var/log' },
  secretParams: ['token'],
  targets: { hosts: ['web-01'] },
  category: 'incident' as const,
  grade: 'P3' as const,
  planDigest: `sha256:${'1'.repeat(64)}`,
  now: new Date('2030-01-01T10:00:00.789Z'),
};

describe('createStatement', () => {
  it('fills defaults: a random id, whole-second UTC window of 24h, one run', () => {
    const a = createStatement(input);
    const b = createStatement(input);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a).toMatchObject({
      notBefore: '2030-01-01T10:00:00Z',
      expiresAt: '2030-01-02T10:00:00Z',
      maxRuns: 1,
      plan: { digest: input.planDigest },
    });
    expect(parseStatement(statementBytes(a)).statement).toEqual(a);
  });

  it('refuses a host list without a plan digest, an empty window and bad values', () => {
    const { planDigest: _p, ...noPlan } = input;
    expect(() => createStatement(noPlan)).toThrow(/plan digest/);
    expect(() => createStatement({ ...input, expires: new Date('2029-01-01T00:00:00Z') })).toThrow(
      /later than notBefore/,
    );
    expect(() => createStatement({ ...input, ticket: 'ops 1' })).toThrow(
      expect.objectContaining({ code: 'STATEMENT_INVALID' }),
    );
    expect(() => createStatement({ ...input, params: { 'Bad-Name': 1 } })).toThrow();
  });

  it('revises the window and run count before signing', () => {
    const s = reviseStatement(createStatement(input), { expires: '7d', maxRuns: 3 });
    expect(s).toMatchObject({ expiresAt: '2030-01-08T10:00:00Z', maxRuns: 3 });
  });
});

describe('parseStatement', () => {
  it('reports duplicate keys and unknown keys with positions', () => {
    const text = statementBytes(createStatement(input))
      .toString()
      .replace('"maxRuns": 1', '"maxRuns": 1,\n  "maxRuns": 9');
    expect(parseStatement(Buffer.from(text)).problems[0]?.rule).toBe('yaml-duplicate-key');
    const extra = JSON.stringify({ ...createStatement(input), note: 'x' });
    expect(parseStatement(Buffer.from(extra)).problems[0]?.rule).toBe('unknown-key');
  });
});
