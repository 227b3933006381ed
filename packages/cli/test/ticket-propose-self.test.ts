import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approversYaml, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, stackTrace } from './run-cli.js';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove } = await makeTempDir('opsbook-propose-self-'));
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\nrunbooks: ${path.join(repoRoot, 'runbooks')}\nstateDir: state\n`,
  );
});
afterAll(async () => {
  await remove?.();
});

describe('ticket propose naming the proposer as the reviewing senior', () => {
  it('refuses before the ticket waits on an approval that SELF_APPROVAL would refuse (exit 2)', async () => {
    const [sam, val, erin] = await Promise.all(
      ['sam', 'val', 'erin'].map((id) => makeSshKeyPair(dir, id)),
    );
    await writeFile(
      path.join(dir, 'approvers.yaml'),
      approversYaml([
        { id: 'sam', name: 'Sam Senior', roles: ['senior'], keys: [sam!.publicLine] },
        { id: 'val', name: 'Val Verifier', roles: ['senior'], keys: [val!.publicLine] },
        { id: 'erin', name: 'Erin Engineer', roles: ['engineer'], keys: [erin!.publicLine] },
      ]),
    );
    const opened = await runCli(
      ['ticket', 'open', '--summary', 'disk', '--no-evidence', '--key', erin!.keyFile],
      { cwd: dir },
    );
    expect(opened.code, opened.stderr).toBe(0);
    const propose = (key: string) =>
      runCli(
        [
          'ticket',
          'propose',
          'OPS-1',
          '--runbook',
          'disk-cleanup',
          '--target',
          'localhost',
          '--senior',
          'sam',
          '--key',
          key,
        ],
        { cwd: dir },
      );
    // The senior's key given by mistake: sam would review sam's own proposal.
    const self = await propose(sam!.keyFile);
    expect(self.code, self.stderr).toBe(2);
    expect(self.stderr).toContain(
      `error: --senior sam is who proposes: your key ${sam!.fingerprint} is Sam Senior (sam)'s in ${path.join(dir, 'approvers.yaml')}, and no one approves their own proposal (SELF_APPROVAL): name another senior`,
    );
    expect(self.stderr).not.toMatch(stackTrace);
    // Nothing was written: the ticket is still Open, and the engineer's proposal goes through.
    const shown = await runCli(['ticket', 'show', 'OPS-1', '--json'], { cwd: dir });
    expect(JSON.parse(shown.stdout).ticket.status).toBe('Open');
    const ok = await propose(erin!.keyFile);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
