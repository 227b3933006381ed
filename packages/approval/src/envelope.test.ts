import { formatProblem } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import {
  attachSignature,
  createEnvelope,
  envelopeOf,
  MAX_ENVELOPE_BYTES,
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

  it('refuses a file too large, another payload type, non-canonical base64 and an empty payload, each where it is', () => {
    const read = (text: string, payloadType?: string) =>
      readEnvelope(text, { file: 'a.json', ...(payloadType ? { payloadType } : {}) }).problems.map(
        formatProblem,
      );
    const text = serializeEnvelope(createEnvelope(statement));
    expect(read(' '.repeat(MAX_ENVELOPE_BYTES + 1))).toEqual([
      `a.json: file is ${MAX_ENVELOPE_BYTES + 1} bytes; an envelope is at most ${MAX_ENVELOPE_BYTES} bytes: this is not an approval file, check the path`,
    ]);
    expect(read(text, 'application/x-other')).toEqual([
      "a.json:2:18: payloadType 'application/vnd.opsbook.approval+json' is not 'application/x-other': this file is not what the command expects",
    ]);
    expect(read(text.replace('"payload": "', '"payload": "AB'))).toEqual([
      'a.json:3:14: payload is not canonical base64: the file was edited by hand or damaged; create it again with opsbook',
    ]);
    const empty = serializeEnvelope(
      envelopeOf('application/vnd.opsbook.approval+json', new Uint8Array()),
    );
    expect(read(empty)).toEqual([
      'a.json: payload is empty: create the approval again with opsbook plan',
    ]);
  });
});
