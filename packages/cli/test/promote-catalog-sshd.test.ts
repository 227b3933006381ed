import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type World } from './opsbook-world.js';
import { runApproval } from './run-outcome.js';

/*
 * issue #20 items 4 and 5 end to end, over a real sshd: an engineer's ad-hoc bash script is
 * promoted, planned with params a shell would misread, approved by a senior's key and run by the
 * runner on a host, where it gets its arguments and environment exactly as it read them by hand
 * (the runner passes OPSBOOK_PARAM_<NAME>, never a value written into the script); then the
 * catalog names that approval and that run under the runbook's version.
 */

const adhoc = `#!/bin/bash
# Leave a marker with what the script was given.
set -eu
name=$1
shift
: "\${MARKER_DIR:=/tmp}"
printf '%s\\n' "$name" "$@" > "$MARKER_DIR/$OPSBOOK_HOST.promoted"
printf 'token=%s\\n' "\${API_TOKEN:-none}" >> "$MARKER_DIR/$OPSBOOK_HOST.promoted"
`;

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: {} });
  await writeFile(path.join(world.dir, 'leave-marker.sh'), adhoc);
});
afterAll(() => world?.remove());

describe('a promoted script, run for real and shown in the catalog', () => {
  it('runs on a host with its params as it read them, and the catalog names the approval and the run', async () => {
    const promoted = await world.opsbook([
      'promote',
      'leave-marker.sh',
      '--name',
      'leave-marker',
      '--json',
    ]);
    expect(promoted.stderr).toBe('');
    expect(promoted.code).toBe(0);
    const params = (JSON.parse(promoted.stdout) as { params: Array<{ name: string }> }).params;
    expect(params.map((p) => p.name)).toEqual(['name', 'args', 'api_token', 'marker_dir']);

    const name = `it's "$(touch /tmp/pwned-by-promote)" *`;
    const file = await approvedFile(world, 'leave-marker', 'marker.json', [world.people.alice], {
      params: { name, args: 'one two', marker_dir: world.markerDir },
      target: 'h1',
    });
    const run = await runApproval(world, file, [], { OPSBOOK_PARAM_API_TOKEN: 's3cr3t' });
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(await readFile(path.join(world.markerDir, 'h1.promoted'), 'utf8')).toBe(
      `${name}\none\ntwo\ntoken=s3cr3t\n`,
    );
    await expect(readFile('/tmp/pwned-by-promote')).rejects.toThrow();

    const catalog = await world.opsbook(['catalog', '--out', 'site', '--json']);
    expect(catalog.code).toBe(0);
    const doc = JSON.parse(catalog.stdout) as {
      catalog: {
        runbooks: Array<{
          name: string;
          versions: Array<{
            version: string;
            approvals: Array<{ signers: string[]; runs: number }>;
            runs: Array<{ runId: string; status: string; hosts: number }>;
          }>;
        }>;
        leftOut: unknown[];
      };
    };
    const marker = doc.catalog.runbooks.find((r) => r.name === 'leave-marker');
    expect(marker?.versions).toHaveLength(1);
    const [v] = marker!.versions;
    expect(v!.version).toBe('0.0.0');
    expect(v!.approvals).toMatchObject([{ signers: ['alice'], runs: 1 }]);
    expect(v!.runs).toMatchObject([{ runId: run.doc!.runId, status: 'ok', hosts: 1 }]);
    expect(doc.catalog.leftOut).toEqual([]);
  });
});
