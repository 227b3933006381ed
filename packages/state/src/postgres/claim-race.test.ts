import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { postgresStore } from './postgres-store.js';

const script = path.resolve(
  import.meta.dirname,
  '../__fixtures__/postgres-claim-race/claim-run.mjs',
);
let pg: Postgres;
let root: string;

beforeAll(async () => {
  const built = await stat(path.resolve(import.meta.dirname, '../../dist/postgres/run-rows.js'));
  if (built.mtimeMs < (await stat(path.resolve(import.meta.dirname, 'run-rows.ts'))).mtimeMs) {
    throw new Error('dist/postgres/run-rows.js is older than its source: run `pnpm build` first');
  }
  pg = await startPostgres();
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-claim-race-'));
});
afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

interface ClaimResult {
  runId: string;
  cwd: string;
  started: boolean;
  code?: string;
  runsUsed?: number;
}

/**
 * Two working copies (two folders, each with an opsbook.yaml naming the same database; the
 * password comes from PGPASSWORD, not the url), ten runners in each, all released at once.
 */
async function race(maxRuns: number): Promise<{ results: ClaimResult[]; url: string }> {
  const { name } = await freshDatabase(pg);
  const url = `postgres://${pg.user}@${pg.host}:${pg.port}/${name}`;
  const copies = await Promise.all(
    ['alice', 'bob'].map(async (who) => {
      const dir = await mkdtemp(path.join(root, `${who}-`));
      await writeFile(
        path.join(dir, 'opsbook.yaml'),
        `apiVersion: opsbook/v1\nkind: Config\nstate:\n  kind: postgres\n  url: ${url}\n`,
      );
      return dir;
    }),
  );
  const { OPSBOOK_DATABASE_URL: _ignored, ...env } = process.env;
  const children = Array.from({ length: 20 }, (_, i) =>
    spawn(process.execPath, [script, 'apr-race', String(maxRuns), `race-${i}`], {
      cwd: copies[i % 2],
      env: { ...env, PGPASSWORD: pg.password },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const outputs = children.map((child) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.startsWith('ready\n')) resolve();
      }),
    );
    const done = new Promise<ClaimResult>((resolve) =>
      child.on('close', () => resolve(JSON.parse(out.slice('ready\n'.length)))),
    );
    return { ready, done };
  });
  // All connected: release them together so their claims really race.
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.write('go\n');
  return { results: await Promise.all(outputs.map((o) => o.done)), url };
}

describe('claims racing from two working copies on one database', () => {
  it('starts exactly one run of a maxRuns: 1 approval out of 20 simultaneous claims', async () => {
    const { results, url } = await race(1);
    const started = results.filter((r) => r.started);
    expect(started).toHaveLength(1);
    expect(started[0]?.runsUsed).toBe(1);
    expect(results.filter((r) => !r.started).map((r) => r.code)).toEqual(
      Array(19).fill('RUNS_EXHAUSTED'),
    );
    expect(new Set(results.map((r) => r.cwd)).size).toBe(2);
    const store = postgresStore({ url: url.replace('@', `:${pg.password}@`) });
    expect(await store.runsUsed('apr-race')).toBe(1);
    expect((await store.readLedger()).map((r) => r.runId)).toEqual([started[0]?.runId]);
    await store.close();
  });

  it('starts exactly three runs of a maxRuns: 3 approval, numbered 1 to 3', async () => {
    const { results, url } = await race(3);
    const started = results.filter((r) => r.started);
    expect(started).toHaveLength(3);
    expect(started.map((r) => r.runsUsed).sort()).toEqual([1, 2, 3]);
    expect(results.filter((r) => !r.started).map((r) => r.code)).toEqual(
      Array(17).fill('RUNS_EXHAUSTED'),
    );
    const store = postgresStore({ url: url.replace('@', `:${pg.password}@`) });
    expect(await store.runsUsed('apr-race')).toBe(3);
    await store.close();
  });
});
