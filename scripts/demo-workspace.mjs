// The people and files of a throwaway opsbook workspace, for the demo and the benchmarks: ECDSA
// P-256 keys made here (real people use their own SSH keys or ssh-agent), approvers.yaml listing
// them under a one-signature policy, and opsbook.yaml with the embedded local tracker.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A key file `<dir>/<id>.pem` for each `[id, name, role]`, loaded with the given
 * @opsbook/approval (the caller says which build signs) and with its public key line, commented
 * `comment(id)`.
 */
export async function makeDemoPeople(dir, approval, people, comment = (id) => id) {
  const made = [];
  for (const [id, name, role] of people) {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'sec1',
      format: 'pem',
    });
    const keyFile = path.join(dir, `${id}.pem`);
    await writeFile(keyFile, pem, { mode: 0o600 });
    const signer = await approval.loadKeyFileSigner(pem, { file: keyFile });
    const line = `${approval.formatPublicKeyLine(signer.publicKey)} ${comment(id)}`;
    made.push({ id, name, role, keyFile, signer, line });
  }
  return made;
}

/**
 * approvers.yaml listing `people` (one signature, at most 7 days) and opsbook.yaml with
 * `runbooks` and, when given, `knownHosts`, both in `dir`.
 */
export async function writeDemoWorkspace(dir, people, { runbooks, knownHosts }) {
  const approvers = people.map(
    (p) => `  - id: ${p.id}\n    name: ${p.name}\n    roles: [${p.role}]\n    keys: ["${p.line}"]`,
  );
  await writeFile(
    path.join(dir, 'approvers.yaml'),
    `apiVersion: opsbook/v1
kind: Approvers
version: 1
approvers:
${approvers.join('\n')}
policy:
  signatures: 1
  maxValidity: 7d
rotation: {signatures: 1}
`,
  );
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1
kind: Config
runbooks: ${runbooks}
stateDir: state
trustStore: approvers.yaml
${knownHosts === undefined ? '' : `knownHosts: ${knownHosts}\n`}tracker: {kind: local}
`,
  );
}
