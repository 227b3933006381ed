import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, readJournal, runApproval } from './run-outcome.js';

/*
 * A step that prints more than the capture keeps (1 MiB) and fails at its end, over real sshd
 * and on the runner machine: the journal keeps the last 64 Ki characters, the ones that say
 * why, and says truly how many it cut. (A fault trial found the journal holding the tail of
 * the first 1 MiB, the real end lost, and "983040 characters cut" whatever the output.)
 */

// seq 1 300000 prints 1,988,895 characters.
const SEQ_CHARS = 1_988_895;
const longRunbook: RunbookFixture = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata: {name: long-output, title: Prints a lot then fails, category: incident, grade: P4, owners: [ops-test]}
spec:
  targets: {default: all}
  steps:
    - id: medium
      name: Prints 100 KB
      run: head -c 100000 /dev/zero | tr '\\0' m
    - id: locally
      name: Prints 2 MB on the runner machine
      where: local
      run: seq 1 300000; echo LAST LOCAL LINE
    - id: verbose-then-fails
      name: Prints 2 MB then fails
      run: seq 1 300000; echo "FATAL replica lag" >&2; echo LAST LINE; exit 3
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'long-output': longRunbook } });
}, 120_000);
afterAll(async () => {
  await world?.remove();
});

describe('a step with more output than the capture keeps', () => {
  it('journals the end of each stream, the real count cut, and truncated when the journal cut', async () => {
    const file = await approvedFile(world, 'long-output', 'approvals/long.json', [
      world.people.alice,
    ]);
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr.slice(-2000)).toBe(1);
    expect(hostOf(r.doc, 'h1').status).toBe('failed');
    const ends = new Map(
      (await readJournal(r.doc!.journal.path))
        .filter((e) => e.type === 'step-end')
        .map((e) => [String(e.step), e]),
    );
    const medium = ends.get('medium')!;
    expect(medium).toMatchObject({ status: 'ok', truncated: true });
    expect(String(medium.stdout)).toMatch(/^…\(34464 characters cut\)…\nm{65536}$/);
    const failed = ends.get('verbose-then-fails')!;
    expect(failed).toMatchObject({ status: 'failed', exitCode: 3, truncated: true });
    expect(failed.stderr).toBe('FATAL replica lag\n');
    const cut = SEQ_CHARS + 'LAST LINE\n'.length - 65536;
    expect(String(failed.stdout)).toMatch(new RegExp(`^…\\(${cut} characters cut\\)…\\n`));
    expect(String(failed.stdout).endsWith('299999\n300000\nLAST LINE\n')).toBe(true);
    const local = ends.get('locally')!;
    expect(local).toMatchObject({ status: 'ok', truncated: true });
    const localCut = SEQ_CHARS + 'LAST LOCAL LINE\n'.length - 65536;
    expect(String(local.stdout)).toMatch(new RegExp(`^…\\(${localCut} characters cut\\)…\\n`));
    expect(String(local.stdout).endsWith('300000\nLAST LOCAL LINE\n')).toBe(true);
  });
});
