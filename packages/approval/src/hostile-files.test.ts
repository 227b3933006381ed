import { formatProblem, ValidationError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { readEnvelope } from './envelope.js';
import { parseStatement } from './statement.js';
import { parseTrustStore } from './trust-store.js';

/** approvers.yaml and approval JSON go through the one strict loader: its refusals reach them. */

function trustStoreProblems(bytes: Uint8Array): string[] {
  try {
    parseTrustStore(bytes, 'approvers.yaml');
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map(formatProblem);
    throw e;
  }
  throw new Error('accepted');
}

describe('hostile approvers.yaml and approval files', () => {
  it('refuses a UTF-16 approvers.yaml at 1:1', () => {
    const text = 'apiVersion: opsbook/v1\nkind: Approvers\n';
    expect(
      trustStoreProblems(new Uint8Array([0xfe, 0xff, ...Buffer.from(text, 'utf16le').swap16()])),
    ).toEqual([
      'approvers.yaml:1:1: the file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8',
    ]);
  });

  it('refuses an approvers.yaml nested 100,000 deep where depth 65 starts', () => {
    const text = `approvers:\n  - ${'- '.repeat(100_000)}x\n`;
    expect(trustStoreProblems(Buffer.from(text))).toEqual([
      'approvers.yaml:2:129: nesting is deeper than 64 levels: flatten the structure',
    ]);
  });

  it('refuses an approval envelope nested 10,000 deep where depth 65 starts', () => {
    const text = `{\n  "payloadType": "x",\n  "payload": ${'['.repeat(10_000)}${']'.repeat(10_000)}\n}\n`;
    expect(readEnvelope(text, { file: 'a.approval.json' }).problems.map(formatProblem)).toEqual([
      'a.approval.json:3:77: nesting is deeper than 64 levels: flatten the structure',
    ]);
  });

  it('gives the position of a bad byte in a signed payload', () => {
    const bytes = new Uint8Array([...Buffer.from('{\n  "apiVersion": "opsbook/v1\u0000"\n}\n')]);
    expect(parseStatement(bytes).problems.map(formatProblem)).toEqual([
      'approval payload:2:28: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    ]);
  });
});
