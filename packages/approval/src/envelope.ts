import { type Problem, parseJsonSource, schemaProblems, type Validator } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { envelopeSchema } from './envelope-schema.js';
import { approvalErrors } from './error-codes.js';
import { validateEnvelope as generatedValidateEnvelope } from './generated/validators.js';
import { SshKeyError } from './ssh-key.js';
import { APPROVAL_NAMESPACE, parseSshsig, SshsigFormatError, verifySshsig } from './sshsig.js';
import { type ApprovalStatement, statementBytes } from './statement.js';

const validateEnvelope = generatedValidateEnvelope as unknown as Validator<Envelope>;

export { envelopeSchema };
export type Envelope = FromSchema<typeof envelopeSchema>;
export type EnvelopeSignature = Envelope['signatures'][number];

export const APPROVAL_PAYLOAD_TYPE = 'application/vnd.opsbook.approval+json';
export const APPROVERS_PAYLOAD_TYPE = 'application/vnd.opsbook.approvers+yaml';
/** An approval is a few KiB; anything far larger is a mistake or an attack on the parser. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

export interface ParsedEnvelope {
  envelope: Envelope;
  /** The decoded payload: the exact bytes every signature covers. */
  payload: Buffer;
}

function problem(file: string, rule: string, message: string, line = 0, col = 0): Problem {
  return { file, line, col, rule, message };
}

/**
 * Read an envelope strictly: size limit, UTF-8 JSON without duplicate keys, no unknown keys, the
 * expected payloadType, and canonical base64 (one payload, one encoding, so two readers can never
 * see different bytes). Returns the problems instead of throwing.
 */
export function readEnvelope(
  input: Uint8Array | string,
  options: { file?: string; payloadType?: string } = {},
): { parsed?: ParsedEnvelope; problems: Problem[] } {
  const file = options.file ?? 'envelope';
  const expectedType = options.payloadType ?? APPROVAL_PAYLOAD_TYPE;
  /** The read refused: one problem, at `at` in the file (its start when not given). */
  const refuse = (rule: string, message: string, at = { line: 0, col: 0 }) => ({
    problems: [problem(file, rule, message, at.line, at.col)],
  });
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_ENVELOPE_BYTES)
    return refuse(
      'too-large',
      `file is ${size} bytes; an envelope is at most ${MAX_ENVELOPE_BYTES} bytes: this is not an approval file, check the path`,
    );
  const source = parseJsonSource(file, input);
  if (source.problems.length) return { problems: source.problems };
  if (!validateEnvelope(source.value))
    return { problems: schemaProblems(source, validateEnvelope.errors) };
  const envelope = source.value as Envelope;
  if (envelope.payloadType !== expectedType)
    return refuse(
      'payload-type',
      `payloadType '${envelope.payloadType}' is not '${expectedType}': this file is not what the command expects`,
      source.locate(['payloadType']),
    );
  const payload = Buffer.from(envelope.payload, 'base64');
  if (envelope.payload.length % 4 !== 0 || payload.toString('base64') !== envelope.payload)
    return refuse(
      'bad-base64',
      'payload is not canonical base64: the file was edited by hand or damaged; create it again with opsbook',
      source.locate(['payload']),
    );
  if (payload.length === 0)
    return refuse('empty-payload', 'payload is empty: create the approval again with opsbook plan');
  return { parsed: { envelope, payload }, problems: [] };
}

/** As readEnvelope, throwing a ValidationError (exit 2) with every problem. */
export function parseEnvelope(
  input: Uint8Array | string,
  options: { file?: string; payloadType?: string } = {},
): ParsedEnvelope {
  const { parsed, problems } = readEnvelope(input, options);
  if (!parsed) throw new approvalErrors.ValidationError(problems, 'ENVELOPE_INVALID');
  return parsed;
}

export function envelopeOf(payloadType: string, payload: Uint8Array): Envelope {
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures: [] };
}

/** An unsigned approval envelope around the statement's exact bytes. */
export function createEnvelope(statement: ApprovalStatement): Envelope {
  return envelopeOf(APPROVAL_PAYLOAD_TYPE, statementBytes(statement));
}

export function serializeEnvelope(envelope: Envelope): string {
  return `${JSON.stringify(envelope, null, 2)}\n`;
}

/** The exact statement bytes to sign, for `opsbook approval payload` and `ssh-keygen -Y sign`. */
export function payloadBytes(
  envelope: Envelope | Uint8Array | string,
  options: { file?: string; payloadType?: string } = {},
): Buffer {
  if (typeof envelope === 'string' || envelope instanceof Uint8Array)
    return parseEnvelope(envelope, options).payload;
  return parseEnvelope(serializeEnvelope(envelope), {
    payloadType: envelope.payloadType,
    ...options,
  }).payload;
}

/**
 * The fingerprint of the key that made `armored`, once it is known to verify over the envelope's
 * payload in the approval namespace (what `opsbook approval attach-signature` asks before it
 * changes a file: a bad signature must not replace a good one of the same key). Throws
 * SIGNATURE_INVALID naming `file` and what to sign.
 */
export function checkAttachable(envelope: Envelope, armored: string, file = 'signature'): string {
  const payload = Buffer.from(envelope.payload, 'base64');
  const check = verifySshsig(armored.replace(/\r\n/g, '\n').trim(), payload, APPROVAL_NAMESPACE);
  if (check.ok) return check.sig.publicKey.fingerprint;
  const fix =
    check.failure === 'namespace'
      ? `sign again with -n ${APPROVAL_NAMESPACE}`
      : `sign the bytes \`opsbook approval payload\` writes for this file (ssh-keygen -Y sign -n ${APPROVAL_NAMESPACE} -f KEY PAYLOAD)`;
  throw new approvalErrors.ValidationError(
    [problem(file, 'signature-not-valid', `${check.detail}: nothing was attached; ${fix}`)],
    'SIGNATURE_INVALID',
  );
}

/**
 * Add an armored SSHSIG (from `ssh-keygen -Y sign` or opsbook) to an envelope. The keyid is the
 * fingerprint of the key inside the signature; a key that already signed gets its signature
 * replaced, not a second one. Whether it is valid and trusted is decided by verification, not here.
 */
export function attachSignature(envelope: Envelope, armored: string, file = 'signature'): Envelope {
  const text = armored.replace(/\r\n/g, '\n').trim();
  let keyid: string;
  try {
    keyid = parseSshsig(text).publicKey.fingerprint;
  } catch (e) {
    if (!(e instanceof SshsigFormatError || e instanceof SshKeyError)) throw e;
    throw new approvalErrors.ValidationError(
      [
        problem(
          file,
          'bad-signature-file',
          `${e.message}: pass the .sig file written by ssh-keygen -Y sign`,
        ),
      ],
      'SIGNATURE_INVALID',
    );
  }
  const sshsig = `${text}\n`;
  // One signature per key: signing again (ECDSA and RSA-PSS signatures differ each time) replaces
  // the key's earlier one in place, so "carries N signatures" counts signers, as verify does.
  const at = envelope.signatures.findIndex((s) => s.keyid === keyid);
  if (at < 0) return { ...envelope, signatures: [...envelope.signatures, { keyid, sshsig }] };
  const signatures = [...envelope.signatures];
  signatures[at] = { keyid, sshsig };
  return { ...envelope, signatures };
}
