import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { header } from './runbook-fixtures.js';
import { filesUnder } from './secret-search.js';

/*
 * A secret of 24 KiB (a certificate bundle, a keytab in base64) printed by a step as it is and in
 * base64, through the real binary over a real sshd. The pattern of its forms was too large for V8,
 * and the masker threw at the step's first output. The run must end ok, and no piece of the
 * secret or of its base64 may show, live, in --json, runs show --output or any state file.
 */

const longSecretRunbook: RunbookFixture = {
  yaml: `${header('long-secret', 'change', 'P3')}spec:
  params:
    bundle: {type: string, secret: true, minLength: 8, description: A certificate bundle}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: print-bundle
      name: Print the bundle as it is and in base64
      run: |
        printf '%s\\n' "$OPSBOOK_PARAM_BUNDLE"
        printf %s "$OPSBOOK_PARAM_BUNDLE" | base64 -w 76
        echo long-done
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'long-secret': longSecretRunbook } });
});
afterAll(async () => {
  await world?.remove();
});

describe('a 24 KiB secret printed by a step, through the real binary over sshd', () => {
  it('ends the run ok and shows no piece of it or of its base64 anywhere', async () => {
    const bundle = Array.from({ length: 24 * 1024 }, (_, i) =>
      String.fromCharCode(65 + ((i * 7919) % 26) + (i % 3 === 0 ? 32 : 0)),
    ).join('');
    const env = { OPSBOOK_PARAM_BUNDLE: bundle };
    const file = await planApproval(world, 'long-secret', 'long-secret.json', { env });
    await approveAs(world, file, world.people.alice);
    const r = await world.opsbook(['run', file, '--json'], { env });
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toContain('h1 | long-done\n');
    const doc = JSON.parse(r.stdout) as { runId: string };
    const shown = await world.opsbook(['runs', 'show', doc.runId, '--output', '--json'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    const texts: Record<string, string> = { stdout: r.stdout, stderr: r.stderr };
    texts['runs show'] = shown.stdout;
    for (const f of await filesUnder(world.stateDir)) texts[f] = await readFile(f, 'utf8');
    const base64 = Buffer.from(bundle).toString('base64');
    // Pieces from its start, middle and end, as it is and in base64 (a 76-column line of it).
    const pieces = [
      bundle.slice(0, 24),
      bundle.slice(12_000, 12_024),
      bundle.slice(-24),
      base64.slice(0, 24),
      base64.slice(76 * 200, 76 * 200 + 24),
      base64.slice(-24),
    ];
    const leaks = Object.entries(texts).flatMap(([where, text]) =>
      pieces.filter((p) => text.includes(p)).map((p) => `${where} shows ${p}`),
    );
    expect(leaks).toEqual([]);
    expect(r.stderr).toContain('h1 | ***\n');
  }, 300_000);
});
