/**
 * The DSSE-style envelope (DESIGN §4) holding a payload and SSHSIG signatures over its exact
 * bytes. The same shape carries approvals and trust store rotation signatures; the
 * `payloadType` tells them apart and each reader accepts only its own.
 */
const signature = {
  type: 'object',
  additionalProperties: false,
  required: ['keyid', 'sshsig'],
  properties: {
    keyid: { type: 'string', pattern: '^SHA256:[A-Za-z0-9+/]{43}$' },
    sshsig: { type: 'string', minLength: 1, maxLength: 16384 },
  },
} as const;

export const envelopeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/envelope.json',
  title: 'opsbook signed envelope',
  type: 'object',
  additionalProperties: false,
  required: ['payloadType', 'payload', 'signatures'],
  properties: {
    payloadType: { type: 'string', minLength: 1, maxLength: 128 },
    payload: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' },
    signatures: { type: 'array', maxItems: 32, items: signature },
    /**
     * An approval's proposer: their SSHSIG (namespace opsbook-proposal) over the statement's
     * proposal bytes, which leave out the window and run count the senior may still set.
     */
    proposal: signature,
  },
} as const;
