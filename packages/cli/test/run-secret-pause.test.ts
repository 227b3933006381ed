import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { readJournal } from './run-outcome.js';
import { header } from './runbook-fixtures.js';
import { filesUnder, piecesOf } from './secret-search.js';

/*
 * A step that prints, then waits (`xxd FILE; sleep 600`): the masker holds back the last lines
 * of a dump (a secret may go on after them) and a line that may begin a secret. Once the output
 * has paused, the live output shows them, masked as at the output's end; what the step prints
 * after the pause shows no piece of a secret either. Through the real binary over a real sshd.
 */

const pausedOutputRunbook: RunbookFixture = {
  yaml: `${header('paused-output', 'change', 'P3')}spec:
  params:
    dir: {type: string, required: true, pattern: "^/", description: Marker folder}
    key: {type: string, secret: true, minLength: 8, description: A long key}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: dump-then-wait
      name: The key through xxd, a pause; the beginning of the key, a pause, then the rest of it
      run: |
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | xxd
        i=0
        while [ ! -e {{ params.dir }}/go ] && [ "$i" -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
        printf 'key: '; printf %s "$OPSBOOK_PARAM_KEY" | head -c 60
        sleep 4
        printf %s "$OPSBOOK_PARAM_KEY" | tail -c +61 | head -c 30
        printf %s "$OPSBOOK_PARAM_KEY" | tail -c +91
        printf '\\nafter the pause\\n'
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'paused-output': pausedOutputRunbook } });
});
afterAll(async () => {
  await world?.remove();
});

describe('a step whose output pauses', () => {
  it('shows the dump lines it printed before the pause while it waits, and no piece of the secret anywhere', async () => {
    const key = randomBytes(120).toString('base64');
    const env = { OPSBOOK_PARAM_KEY: key };
    const dir = path.join(world.markerDir, 'paused-output');
    await mkdir(dir, { recursive: true });
    const file = await planApproval(world, 'paused-output', 'paused.json', {
      params: { dir },
      env,
    });
    await approveAs(world, file, world.people.alice);
    const dumped = execFileSync('xxd', [], { input: `user:${key}`, encoding: 'utf8' });
    const lastDumpLine = dumped.trimEnd().split('\n').at(-1)!;
    const lastOffset = lastDumpLine.slice(0, 9);

    const running = world.spawnOpsbook(['run', file, '--json'], { env });
    try {
      // The pause lasts until the test creates `go` (at most 2 minutes, then the step goes on).
      // The dump's last line is shown during it: a second after the output paused, not at its end.
      let seen = false;
      for (let i = 0; i < 600 && !seen; i++) {
        if (running.child.exitCode !== null) break;
        seen = running.stderr().includes(`h1 | ${lastOffset}`);
        if (!seen) await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen, `the last dump line during the pause; stderr so far:\n${running.stderr()}`).toBe(
        true,
      );
      const live = running.stderr();
      // Every line of the dump, starred where the key was, the layout kept.
      const liveDump = live
        .split('\n')
        .filter((l) => /^h1 \| [0-9a-f]{8}: /.test(l))
        .map((l) => l.slice('h1 | '.length));
      expect(liveDump.map((l) => l.length)).toEqual(
        dumped
          .trimEnd()
          .split('\n')
          .map((l) => l.length),
      );
      expect(liveDump[0]).toMatch(/^00000000: 7573 6572 3a\*\* \*\*\*\* .* {2}user:\*{11}$/);
    } finally {
      await writeFile(path.join(dir, 'go'), '');
    }
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    // The key's beginning, a pause of 4 s (four times the wait for one), and its rest (in two
    // writes) on the same line: a line not ended is held through a pause, the key masked whole.
    expect(r.stderr).toMatch(/^h1 \| key: \*\*\*$/m);
    expect(r.stderr).toContain('h1 | after the pause\n');
    const doc = JSON.parse(r.stdout) as { runId: string; journal: { path: string } };
    const journal = await readJournal(doc.journal.path);
    const stdout = String(
      journal.find((e) => e.type === 'step-end' && e.step === 'dump-then-wait')?.stdout,
    );
    expect(stdout).toContain('key: ***\nafter the pause\n');
    const shown = await world.opsbook(['runs', 'show', doc.runId, '--output', '--json'], { env });
    expect(shown.code, shown.stderr).toBe(0);

    const stateTexts = await Promise.all(
      (await filesUnder(world.stateDir)).map((f) => readFile(f, 'utf8')),
    );
    const everything = [r.stdout, r.stderr, shown.stdout, shown.stderr, ...stateTexts];
    // No 8 characters of the key, and no 4 of its bytes in hex (spaces between groups out).
    const pieces = [
      ...piecesOf(key, 8),
      ...piecesOf(Buffer.from(key).toString('hex'), 8).filter((_, i) => i % 2 === 0),
    ];
    for (const [i, text] of everything.entries()) {
      const squeezed = text.replaceAll(' ', '');
      const leaked = pieces.filter((p) => text.includes(p) || squeezed.includes(p));
      expect(leaked, `output ${i} shows a piece of the key`).toEqual([]);
    }
  }, 240_000);
});
