import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { runCli, stackTrace } from './run-cli.js';

/*
 * A ticket key typed wrong is a mistake in the command (exit 2, the form to type), said before
 * opsbook asks for the signing key: a newcomer with no ~/.ssh/id_* who typed OPS1, or the
 * approval file `opsbook run` takes, was told to pass --key first (exit 3), then the key's form.
 */

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove } = await bareWorkspace('opsbook-ticket-key-'));
});
afterAll(async () => {
  await remove?.();
});

// HOME without .ssh: no default key, so a check that came after the key would say EXECUTOR_UNPROVEN.
const opsbook = (args: string[]) =>
  runCli(args, { cwd: dir, env: { HOME: dir, SSH_AUTH_SOCK: '' } });

describe('a ticket command given something that is not a ticket key', () => {
  it.each([
    [['ticket', 'run', 'OPS1']],
    [['ticket', 'propose', 'OPS1', '--runbook', 'x', '--senior', 'sam']],
    [['ticket', 'comment', 'OPS_1', '--text', 'x']],
    [['ticket', 'escalate', '1', '--to', 'sam']],
    [['ticket', 'accept', 'OPS-', '--key', 'nokey']],
  ])('opsbook %j: exit 2, the form of a key, before any key is asked for', async (args) => {
    const r = await opsbook(args);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/is not a ticket key: use the form PROJECT-123 \(e\.g\. OPS-12\)/);
    expect(r.stderr).not.toMatch(/UNPROVEN|cannot read the key/);
  });

  it('points an approval file given to ticket run at opsbook run', async () => {
    const r = await opsbook(['ticket', 'run', 'OPS-42.disk-cleanup.approval.json']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      'to run an approval file, use opsbook run OPS-42.disk-cleanup.approval.json',
    );
  });

  it('plan --ticket in lower case names the key to type', async () => {
    const r = await opsbook(['plan', 'x', '--ticket', 'ops-7']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("'ops-7' is not a ticket key: did you mean OPS-7?");
  });
});
