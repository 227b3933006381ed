import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseInventoryText } from '@opsbook/inventory';
import { digestRunbook, loadRunbook } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '../plan/plan.js';
import { scriptsOf } from './plan-approval.js';

const repo = path.resolve(import.meta.dirname, '../../../..');
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('opsbook-scripts-of-');
});
afterAll(() => tmp?.remove());

/** disk-cleanup copied to its own folder, loaded, digested and planned for one host. */
async function plannedCopy(name: string) {
  const dir = path.join(tmp.dir, name);
  await cp(path.join(repo, 'runbooks/disk-cleanup'), dir, { recursive: true });
  const loaded = await loadRunbook(dir);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const { bundle } = loaded;
  const digest = await digestRunbook(dir, bundle);
  const plan = renderPlan({
    bundle,
    digest,
    ticket: 'OPS-1',
    params: { path: '/var/log/app', days: 7, keep_days: 30, max_used_percent: 85 },
    secretParams: [],
    hosts: parseInventoryText('hosts.ini', 'web-01 ansible_host=10.0.0.1\n', 'ini').hosts,
  });
  return { dir, run: { bundle, digest, compositions: [], plan } };
}

describe('scriptsOf: the script text a senior reads before signing', () => {
  it('is the text of the bytes the plan binds', async () => {
    const { dir, run } = await plannedCopy('unchanged');
    const texts = await scriptsOf(run);
    const script = await readFile(path.join(dir, 'scripts/check-usage.sh'), 'utf8');
    expect([...texts.values()]).toEqual([script]);
  });

  it('refuses a script swapped after the folder was digested, instead of showing text that is not signed', async () => {
    const { dir, run } = await plannedCopy('swapped');
    // What the senior would read: a harmless script, while the plan binds the one digested.
    await writeFile(path.join(dir, 'scripts/check-usage.sh'), '#!/bin/sh\necho harmless\n');
    await expect(scriptsOf(run)).rejects.toThrow(
      /scripts\/check-usage\.sh changed while opsbook read the runbook folder/,
    );
  });
});
