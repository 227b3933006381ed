import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { filesUnder } from './secret-search.js';

/*
 * A form of a secret wrapped at 3-4 columns, with a label (nl, then a '> ' prefix), printed a
 * line a pause over a real sshd: each line alone is too short to tell from ordinary output, so
 * the live output showed every line of it. Lines after the first 7 characters of the form must
 * be starred live, in --json, runs show --output and the state files.
 */

const narrowRunbook: RunbookFixture = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: narrow-pauses
  title: Test runbook narrow-pauses
  category: change
  grade: P3
  owners: [ops-test]
spec:
  params:
    word: {type: string, secret: true, minLength: 8, description: A password}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: slow-forms
      name: A narrow labelled form, a line a pause
      run: |
        printf %s "$OPSBOOK_PARAM_WORD" | base64 -w 4 | nl | head -4 |
          while IFS= read -r l; do printf '%s\\n' "$l"; sleep 1.3; done
        printf %s "$OPSBOOK_PARAM_WORD" | base64 -w 4 | sed 's/^/> /' | tail -n +5 |
          while IFS= read -r l; do printf '%s\\n' "$l"; sleep 1.3; done
        echo narrow-done
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'narrow-pauses': narrowRunbook } });
});
afterAll(async () => {
  await world?.remove();
});

describe('a narrow labelled form printed a line a pause, through the real binary over sshd', () => {
  it('stars its lines past the first 7 characters everywhere, the labels kept', async () => {
    const word = 'Pl4inW0rd-of-the-day';
    const env = { OPSBOOK_PARAM_WORD: word };
    const file = await planApproval(world, 'narrow-pauses', 'narrow-pauses.json', { env });
    await approveAs(world, file, world.people.alice);
    const r = await world.opsbook(['run', file, '--json'], { env });
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toContain('h1 | narrow-done\n');
    const doc = JSON.parse(r.stdout) as { runId: string };
    const shown = await world.opsbook(['runs', 'show', doc.runId, '--output', '--json'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    const stateTexts = await Promise.all(
      (await filesUnder(world.stateDir)).map((f) => readFile(f, 'utf8')),
    );
    // Lines 3 on: the first two (8 characters) are too few to tell from other output.
    const lines = Buffer.from(word)
      .toString('base64')
      .match(/.{1,4}/g)!
      .slice(2);
    const texts: Record<string, string> = { stdout: r.stdout, stderr: r.stderr };
    texts['runs show'] = shown.stdout;
    for (const [i, t] of stateTexts.entries()) texts[`state file ${i}`] = t;
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(texts))
      for (const l of lines)
        if (new RegExp(`(?:\\t|> |\\\\t)${l.replace(/[+/=]/g, (c) => `\\${c}`)}`).test(text))
          leaks.push(`${where} shows ${l}`);
    expect(leaks).toEqual([]);
    expect(r.stderr).toMatch(/h1 \| {6}3\t\*\*\*\n/);
    expect(r.stderr).toMatch(/h1 \| > \*\*\*\n/);
  }, 180_000);
});
