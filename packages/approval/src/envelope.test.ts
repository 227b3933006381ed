import { describe, expect, it } from 'vitest';
import {
  attachSignature,
  createEnvelope,
  parseEnvelope,
  payloadBytes,
  readEnvelope,
  serializeEnvelope,
} from './envelope.js';
import { createStatement, statementBytes } from './statement.js';

const statement = createStatement({
  ticket: 'OPS-1',
  runbook: { name: 'x', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` },
  params: {},
  targets: { hosts: ['h'] },
  category: 'change',
  grade: 'P2',
  planDigest: `sha256:${'1'.repeat(64)}`,
});

describe('envelope', () => {
  it('carries the exact statement bytes', () => {
    const text = serializeEnvelope(createEnvelope(statement));
    expect(payloadBytes(text).equals(statementBytes(statement))).toBe(true);
    expect(parseEnvelope(text).envelope.signatures).toEqual([]);
  });

  it('reports problems with their position, and refuses signatures that are not SSHSIG', () => {
    const text = serializeEnvelope(createEnvelope(statement)).replace(
      '"signatures": []',
      '"signatures": [], "extra": 1',
    );
    expect(readEnvelope(text).problems.map((p) => `${p.line} ${p.rule}`)).toEqual([
      '4 unknown-key',
    ]);
    expect(() => attachSignature(createEnvelope(statement), 'not a signature')).toThrow(
      expect.objectContaining({ code: 'SIGNATURE_INVALID' }),
    );
  });
});
