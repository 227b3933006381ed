import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { header } from './runbook-fixtures.js';

/*
 * Secret params of type integer, number and boolean, through the real binary on an SSH host and a
 * local one: their OPSBOOK_PARAM_<NAME> text is typed as --param types a plain value, so a good
 * value reaches the step's environment, and a bad one is refused, by its variable's name and never
 * its value, before any host is touched or any run of the approval is used.
 */

const typedSecretsRunbook: RunbookFixture = {
  yaml: `${header('typed-secrets', 'change', 'P3')}spec:
  params:
    dir: {type: string, required: true, pattern: "^/", description: Marker folder}
    port: {type: integer, secret: true, minimum: 1024, maximum: 65535, description: Admin port}
    ratio: {type: number, secret: true, description: Sampling ratio}
    verbose: {type: boolean, secret: true, description: Verbose client}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: write-secrets
      name: Write the typed secrets as the step gets them
      run: printf 'port=%s ratio=%s verbose=%s\\n' {{ params.port }} {{ params.ratio }} {{ params.verbose }} > {{ params.dir }}/{{ host.name }}.secrets
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'typed-secrets': typedSecretsRunbook } });
  await world.writeInventory({ extraHosts: { lh: { ansible_connection: 'local' } } });
});
afterAll(async () => {
  await world?.remove();
});

describe('integer, number and boolean secret params', () => {
  it('are refused by name when their text is not of the type or breaks the rules, and reach the step when it is', async () => {
    const dir = path.join(world.markerDir, 'typed-secrets');
    await mkdir(dir, { recursive: true });
    const validated = await world.opsbook(['validate', 'typed-secrets']);
    expect(validated.code, validated.stderr).toBe(0);
    const file = await planApproval(world, 'typed-secrets', 'typed-secrets.json', {
      params: { dir },
    });
    await approveAs(world, file, world.people.alice);
    const good = {
      OPSBOOK_PARAM_PORT: '5432',
      OPSBOOK_PARAM_RATIO: '0.25',
      OPSBOOK_PARAM_VERBOSE: 'true',
    };

    const refusals = [
      {
        env: { ...good, OPSBOOK_PARAM_PORT: 'port-5432-please' },
        says: 'secret param port (from OPSBOOK_PARAM_PORT) is not an integer: set OPSBOOK_PARAM_PORT to an integer',
      },
      {
        env: { ...good, OPSBOOK_PARAM_RATIO: 'quarter-ratio' },
        says: 'secret param ratio (from OPSBOOK_PARAM_RATIO) is not a number',
      },
      {
        env: { ...good, OPSBOOK_PARAM_VERBOSE: 'verbose-yes' },
        says: 'secret param verbose (from OPSBOOK_PARAM_VERBOSE) is not true or false',
      },
      {
        env: { ...good, OPSBOOK_PARAM_PORT: '-4242421' },
        says: "secret param port (from OPSBOOK_PARAM_PORT) does not satisfy the param's rules",
      },
    ];
    for (const { env, says } of refusals) {
      const bad = Object.entries(env).find(([k, v]) => v !== good[k as keyof typeof good])![1];
      const run = await world.opsbook(['run', file], { env });
      const output = run.stdout + run.stderr;
      expect(run.code, output).toBe(2);
      expect(output).toContain(says);
      expect(output).not.toContain(bad);
      expect(output).not.toMatch(stackTrace);
    }
    // Refused before any host: nothing written, and the approval's single run still unused.
    expect(await readdir(dir)).toEqual([]);

    const run = await world.opsbook(['run', file], { env: good });
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
    for (const host of ['h1', 'lh'])
      expect(await readFile(path.join(dir, `${host}.secrets`), 'utf8'), host).toBe(
        'port=5432 ratio=0.25 verbose=true\n',
      );
  });
});
