// Approval files: read (malformed is invalid input, with file:line:col) and written as opsbook writes them.
import { readFile } from 'node:fs/promises';
import {
  type ApprovalStatement,
  type Envelope,
  NOT_CANONICAL,
  parseStatement,
  readEnvelope,
  serializeEnvelope,
} from '@opsbook/approval';
import { ValidationError } from '@opsbook/schema';
import { runnerErrors } from '../error-codes.js';

/**
 * Approval files are written whole (an interrupted write never leaves half an approval) and
 * readable by all: the senior who signs and the engineer who runs are different users.
 */
export const APPROVAL_FILE = { mode: 0o644 } as const;

export interface ApprovalFile {
  file: string;
  bytes: Buffer;
  envelope: Envelope;
  /** Parsed from the payload but NOT verified: only for deciding what to re-render and show. */
  statement: ApprovalStatement;
}

/**
 * Read an approval file (or its `bytes`, already read); a malformed one is invalid input (exit 2),
 * with file:line:col.
 */
export async function readApprovalFile(file: string, given?: Uint8Array): Promise<ApprovalFile> {
  let bytes: Buffer;
  try {
    bytes = given ? Buffer.from(given) : await readFile(file);
  } catch (e) {
    throw ValidationError.single(
      file,
      `cannot read the approval file (${(e as NodeJS.ErrnoException).code}): check the path`,
      'missing-file',
    );
  }
  const { parsed, problems } = readEnvelope(bytes, { file });
  if (!parsed) throw new runnerErrors.ValidationError(problems, 'ENVELOPE_INVALID');
  const { statement, problems: sp } = parseStatement(parsed.payload, `${file} payload`);
  if (!statement)
    throw new runnerErrors.ValidationError(
      sp,
      sp[0]?.rule === NOT_CANONICAL ? 'PAYLOAD_NOT_CANONICAL' : 'STATEMENT_INVALID',
    );
  return { file, bytes, envelope: parsed.envelope, statement };
}

export function serializeApproval(envelope: Envelope): string {
  return serializeEnvelope(envelope);
}

/** `opsbook approval payload`: the exact statement bytes every signature covers. */
export async function readApprovalPayload(file: string): Promise<Buffer> {
  const approval = await readApprovalFile(file);
  return Buffer.from(approval.envelope.payload, 'base64');
}
