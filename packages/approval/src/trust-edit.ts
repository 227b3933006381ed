import { UsageError } from '@opsbook/schema';
import { type Document, isSeq, parseDocument } from 'yaml';
import { APPROVERS_PAYLOAD_TYPE, type Envelope, envelopeOf } from './envelope.js';
import { parsePublicKeyLine } from './ssh-key.js';
import { parseTrustStore, type Role, type TrustStore } from './trust-store.js';

/*
 * Pure edits of approvers.yaml for `opsbook trust add-approver|revoke`: text in, text out,
 * comments and layout kept (yaml's Document API), version raised by one, and the result loaded
 * with the strict loader so an edit can never produce a store that would be refused later.
 * The new text still needs rotation signatures (createTrustEnvelope + signEnvelope).
 */

export interface NewApprover {
  id: string;
  name: string;
  roles: Role[];
  /** OpenSSH public key lines, e.g. the content of id_ed25519.pub. */
  keys: string[];
  jira?: string | undefined;
}

function edit(
  text: string,
  file: string,
  change: (doc: Document, store: TrustStore) => void,
): { text: string; store: TrustStore } {
  const before = parseTrustStore(Buffer.from(text, 'utf8'), file);
  const doc = parseDocument(text);
  change(doc, before);
  doc.setIn(['version'], before.version + 1);
  const out = doc.toString({ lineWidth: 0 });
  return { text: out, store: parseTrustStore(Buffer.from(out, 'utf8'), file) };
}

export function addApprover(
  text: string,
  approver: NewApprover,
  file = 'approvers.yaml',
): { text: string; store: TrustStore } {
  return edit(text, file, (doc, store) => {
    if (store.data.approvers.some((a) => a.id === approver.id)) {
      throw new UsageError(
        `approver '${approver.id}' already exists: choose another id, or edit their entry`,
      );
    }
    for (const line of approver.keys) parsePublicKeyLine(line); // throws SshKeyError with the reason
    const entry = {
      id: approver.id,
      name: approver.name,
      roles: approver.roles,
      keys: approver.keys.map((k) => k.trim()),
      ...(approver.jira ? { jira: approver.jira } : {}),
    };
    const list = doc.get('approvers');
    if (!isSeq(list)) throw new UsageError('approvers is not a list');
    const node = doc.createNode(entry);
    const roles = node.get('roles', true);
    if (isSeq(roles)) roles.flow = true;
    list.add(node);
  });
}

export function revokeKey(
  text: string,
  fingerprint: string,
  reason: string,
  file = 'approvers.yaml',
): { text: string; store: TrustStore } {
  return edit(text, file, (doc, store) => {
    if (store.revoked.has(fingerprint))
      throw new UsageError(`key ${fingerprint} is already revoked`);
    const entry = { fingerprint, reason };
    const list = doc.get('revoked');
    if (isSeq(list)) list.add(doc.createNode(entry));
    else doc.set('revoked', doc.createNode([entry]));
  });
}

/** An unsigned rotation envelope over the exact bytes of a new approvers.yaml. */
export function createTrustEnvelope(bytes: Uint8Array): Envelope {
  return envelopeOf(APPROVERS_PAYLOAD_TYPE, bytes);
}
