import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { header } from './runbook-fixtures.js';
import { filesUnder } from './secret-search.js';

/*
 * A step that prints a secret's base64 wrapped at 12 columns and its hex at 10, a line at a time
 * with `sleep 1.5` between lines: each pause lets the held lines out. No line of either form
 * may show, live, in the journal or in any state file. Through the real binary over a real sshd.
 */

const linePausedRunbook: RunbookFixture = {
  yaml: `${header('line-paused', 'change', 'P3')}spec:
  params:
    key: {type: string, secret: true, minLength: 8, description: A long key}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: slow-forms
      name: The key in base64 and hex, a line at a time, a pause after each
      run: |
        printf 'u:%s' "$OPSBOOK_PARAM_KEY" | base64 -w 12 | while IFS= read -r l; do printf '%s\\n' "$l"; sleep 1.5; done
        printf %s "$OPSBOOK_PARAM_KEY" | xxd -p -c 5 | while IFS= read -r l; do printf '%s\\n' "$l"; sleep 1.5; done
        printf 'cr:%s' "$OPSBOOK_PARAM_KEY" | base64 -w 12 | tr '\\n' '\\r'; echo
        echo done
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'line-paused': linePausedRunbook } });
});
afterAll(async () => {
  await world?.remove();
});

describe('a step printing a form of a secret a line at a time, pausing after each line', () => {
  it('shows no line of the base64 or the hex anywhere', async () => {
    // Base64 characters only: the key's own pieces would not show inside its forms by chance.
    const key = randomBytes(30).toString('base64').replace(/[+/=]/g, 'x');
    const env = { OPSBOOK_PARAM_KEY: key };
    const file = await planApproval(world, 'line-paused', 'line-paused.json', { env });
    await approveAs(world, file, world.people.alice);
    const r = await world.opsbook(['run', file, '--json'], { env });
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toContain('h1 | done\n');
    const doc = JSON.parse(r.stdout) as { runId: string };
    const shown = await world.opsbook(['runs', 'show', doc.runId, '--output', '--json'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    const stateTexts = await Promise.all(
      (await filesUnder(world.stateDir)).map((f) => readFile(f, 'utf8')),
    );
    // Every line of the two forms but the last of the base64 (its padding holds 1 byte of the key
    // at most) and the first (`u:` and the key's first 7 bytes; the first 3 characters are `u:`'s).
    const b64Lines = Buffer.from(`u:${key}`)
      .toString('base64')
      .match(/.{1,12}/g)!
      .slice(1, -1);
    const hexLines = Buffer.from(key).toString('hex').match(/.{10}/g)!;
    // The same wrapped with CR-only line ends (after `cr:`, so its lines differ from the first form's).
    const crLines = Buffer.from(`cr:${key}`)
      .toString('base64')
      .match(/.{1,12}/g)!
      .slice(1, -1);
    for (const [i, text] of [r.stdout, r.stderr, shown.stdout, ...stateTexts].entries()) {
      const leaked = [...b64Lines, ...hexLines, ...crLines].filter((l) => text.includes(l));
      expect(leaked, `output ${i} shows a line of a form of the key`).toEqual([]);
    }
  }, 120_000);
});
