import { UsageError } from '@opsbook/schema';
import { Document, isSeq, parseDocument } from 'yaml';
import { APPROVERS_PAYLOAD_TYPE, type Envelope, envelopeOf } from './envelope.js';
import { approvalErrors } from './error-codes.js';
import { parsePublicKeyLine, SshKeyError, sshKeyTypes } from './ssh-key.js';
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
  /** Where each line of `keys` was read from (the `--key-file` as given), for the messages. */
  keyFiles?: string[] | undefined;
  jira?: string | undefined;
}

/**
 * Check that `text`, read from `file`, is one OpenSSH public key line; else invalid input naming
 * the file and what to pass instead (a private key's `.pub`, most often).
 */
export function checkPublicKeyLine(text: string, file: string): void {
  try {
    parsePublicKeyLine(text);
  } catch (e) {
    if (!(e instanceof SshKeyError)) throw e;
    const type = /^\s*(\S*)/.exec(text)?.[1] ?? '';
    const message = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)
      ? `this is a private key, not an OpenSSH public key line: pass ${file}.pub (the public key beside it), and keep the private key to its owner`
      : (sshKeyTypes as readonly string[]).includes(type) || type === 'ssh-dss'
        ? `${e.message}: pass the approver's public key file (.pub)`
        : `not an OpenSSH public key line: it should start with a key type such as ssh-ed25519, as in ~/.ssh/id_ed25519.pub: pass the approver's public key file (.pub)`;
    throw new approvalErrors.ValidationError(
      [{ file, line: 0, col: 0, rule: 'public-key-invalid', message }],
      'PUBLIC_KEY_INVALID',
    );
  }
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
  const out = storeText(doc);
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
    addEntry(doc, approver);
  });
}

/** Append `approver` to the document's approvers, each key checked as an OpenSSH public key line. */
function addEntry(doc: Document, approver: NewApprover): void {
  for (const [i, line] of approver.keys.entries())
    checkPublicKeyLine(line, approver.keyFiles?.[i] ?? `key ${i + 1} of ${approver.id}`);
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
}

/**
 * A first approvers.yaml (version 1) holding one senior, for `opsbook trust add-approver` where
 * none exists yet: the policy of the README's example (one senior signature, at most 7 days;
 * routine runbooks' standing approvals 90 days, with a target selector), rotation by that senior.
 * Loaded with the strict loader like any edit; the seniors review it before `trust init` pins it.
 */
export function newTrustStore(
  approver: NewApprover,
  file = 'approvers.yaml',
): { text: string; store: TrustStore } {
  if (!approver.roles.includes('senior'))
    throw new UsageError(
      `${file} does not exist yet, and its first approver must be a senior (seniors sign its later versions): add a senior first (--role senior), then ${approver.id}`,
    );
  const doc = new Document({
    apiVersion: 'opsbook/v1',
    kind: 'Approvers',
    version: 1,
    approvers: [],
    policy: {
      signatures: 1,
      maxValidity: '7d',
      categories: { routine: { maxValidity: '90d', allowSelectors: true } },
    },
    revoked: [],
    rotation: { signatures: 1 },
  });
  addEntry(doc, approver);
  doc.commentBefore =
    ' The trust store: who may propose, approve and run, and the approval policy (README,\n' +
    ' "Approvals: for seniors"). Pin it on each runner with `sudo opsbook trust init`; later\n' +
    ' versions (opsbook trust add-approver|revoke) need the rotation signatures of its seniors.';
  const text = storeText(doc);
  return { text, store: parseTrustStore(Buffer.from(text, 'utf8'), file) };
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

/**
 * The YAML text of a trust store document, with each `roles:` list as the repository's formatter
 * (biome) writes a flow sequence, `[senior]`: the yaml library pads it (`[ senior ]`), and an
 * approvers.yaml committed as `trust add-approver` wrote it then failed `pnpm lint`. Flow
 * mappings keep their padding (`{ signatures: 1 }`), which biome writes too.
 */
function storeText(doc: Document): string {
  return doc.toString({ lineWidth: 0 }).replace(/^(\s*roles: )\[ ([^\]\n]*) \]$/gm, '$1[$2]');
}
