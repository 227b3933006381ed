import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/*
 * The people of a test world: SSH keys made by the real ssh-keygen, and the trust store
 * (approvers.yaml, @opsbook/approval's README) that lists them. Shared by the approval tests and
 * the CLI's end-to-end tests so that both exercise the same store shape and policy.
 */

const run = promisify(execFile);

export interface KeyPair {
  id: string;
  /** The private key file (the public key is next to it, with `.pub`). */
  keyFile: string;
  /** The `.pub` line: `ssh-ed25519 AAAA… id@test`. */
  publicLine: string;
  /** `SHA256:…`, as `ssh-keygen -l -E sha256` prints it. */
  fingerprint: string;
}

export interface KeyOptions {
  /** ed25519 (default), ecdsa (256 bits unless `bits`), rsa (3072 bits unless `bits`). */
  type?: 'ed25519' | 'ecdsa' | 'rsa';
  bits?: number;
  passphrase?: string;
  /** File name in `dir`; default: the id. */
  fileName?: string;
}

/** A key pair made by the real ssh-keygen, with its fingerprint as ssh-keygen prints it. */
export async function makeSshKeyPair(
  dir: string,
  id: string,
  options: KeyOptions = {},
): Promise<KeyPair> {
  const type = options.type ?? 'ed25519';
  const bits = options.bits ?? (type === 'ecdsa' ? 256 : type === 'rsa' ? 3072 : undefined);
  const keyFile = path.join(dir, options.fileName ?? id);
  await run('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(bits ? ['-b', String(bits)] : []),
    '-N',
    options.passphrase ?? '',
    '-C',
    `${id}@test`,
    '-f',
    keyFile,
  ]);
  const publicLine = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyFile}.pub`]);
  return { id, keyFile, publicLine, fingerprint: stdout.split(/\s+/)[1] ?? '' };
}

export interface ApproverEntry {
  id: string;
  name: string;
  roles: readonly string[];
  /** Public key lines. */
  keys: readonly string[];
  /** The person's id in the tracker, when the test needs one. */
  jira?: string;
}

export interface ApproversOptions {
  version?: number;
  /** Fingerprints revoked, each with its reason. */
  revoked?: readonly { fingerprint: string; reason: string }[];
  /** Text appended as is (e.g. a `previous:` block of a rotation). */
  extra?: string;
}

/**
 * approvers.yaml with the policy every test world uses: one signature, at most 7 days; P1 needs
 * two within 24 h; routine runbooks may have standing (selector) approvals for 90 days; a
 * rotation of the store needs two seniors of the pinned version.
 */
export function approversYaml(
  approvers: readonly ApproverEntry[],
  options: ApproversOptions = {},
): string {
  const people = approvers.map((a) =>
    [
      `  - id: ${a.id}`,
      `    name: ${a.name}`,
      `    roles: [${a.roles.join(', ')}]`,
      `    keys: [${a.keys.map((k) => JSON.stringify(k)).join(', ')}]`,
      ...(a.jira ? [`    jira: ${a.jira}`] : []),
    ].join('\n'),
  );
  const revoked = options.revoked?.length
    ? [
        'revoked:',
        ...options.revoked.map((r) => `  - fingerprint: ${r.fingerprint}\n    reason: ${r.reason}`),
      ]
    : [];
  return `${[
    '# Who may approve runs',
    'apiVersion: opsbook/v1',
    'kind: Approvers',
    `version: ${options.version ?? 1}`,
    'approvers:',
    ...people,
    'policy:',
    '  signatures: 1',
    '  maxValidity: 7d',
    '  grades:',
    '    P1: {signatures: 2, maxValidity: 24h}',
    '  categories:',
    '    routine: {maxValidity: 90d, allowSelectors: true}',
    ...revoked,
    'rotation:',
    '  signatures: 2',
  ].join('\n')}\n${options.extra ?? ''}`;
}
