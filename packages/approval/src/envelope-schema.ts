/**
 * The DSSE-style envelope (README: Formats) holding a payload and SSHSIG signatures over its exact
 * bytes. The same shape carries approvals and trust store rotation signatures; the
 * `payloadType` tells them apart and each reader accepts only its own.
 */
import { closedObject, documentSchema } from '@opsbook/schema';
import { keyFingerprint } from './statement-fragments.js';

const signature = closedObject({
  keyid: keyFingerprint,
  sshsig: { type: 'string', minLength: 1, maxLength: 16384 },
});

export const envelopeSchema = documentSchema(
  'envelope',
  'opsbook signed envelope',
  {
    payloadType: { type: 'string', minLength: 1, maxLength: 128 },
    payload: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' },
    signatures: { type: 'array', maxItems: 32, items: signature },
    /**
     * An approval's proposer: their SSHSIG (namespace opsbook-proposal) over the statement's
     * proposal bytes, which leave out the window and run count the senior may still set.
     */
    proposal: signature,
  },
  ['proposal'],
);
