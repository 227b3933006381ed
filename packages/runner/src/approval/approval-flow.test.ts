import path from 'node:path';
import { createStatement } from '@opsbook/approval';
import type { Config } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { rederivePlan } from './approval-flow.js';

const repo = path.resolve(import.meta.dirname, '../../../..');
// rederivePlan reads only the runbooks (and the inventory, embedded here): no state, no trust.
const config = { root: repo, runbooksDir: path.join(repo, 'runbooks') } as Config;

const approvalOf = (params: Record<string, string | number | boolean>) =>
  createStatement({
    ticket: 'OPS-1',
    runbook: { name: 'disk-cleanup', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` },
    params,
    targets: { hosts: ['localhost'] },
    category: 'incident',
    grade: 'P3',
    planDigest: `sha256:${'1'.repeat(64)}`,
  });

describe('rederivePlan', () => {
  it('renders the approved params as the typed values they are', async () => {
    const { plan } = await rederivePlan(approvalOf({ days: 14, path: '/var/log/app' }), config);
    expect(plan.params).toMatchObject({ days: 14, path: '/var/log/app', keep_days: 30 });
  });

  it("blames the approval's param, never a --param nobody typed, for a value the runbook refuses", async () => {
    const error = await rederivePlan(approvalOf({ days: 0 }), config).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain("the approval's param days");
    expect(message).toContain('is 0, below the minimum 1');
    expect(message).not.toContain('--param');
  });

  it('refuses an approved value of the wrong type by name, without re-reading it as text', async () => {
    const error = await rederivePlan(approvalOf({ days: '7' }), config).catch((e: Error) => e);
    expect((error as Error).message).toContain(
      `the approval's param days: the value is "7", not an integer`,
    );
  });
});
