import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, syncDirectory } from '@opsbook/schema';
import { withLockFile } from '@opsbook/state';
import type { ShardJob } from './shard-job.js';

/**
 * The hosts this worker machine has run, per run: `<stateDir>/worker-runs/<runId>.jsonl`, one
 * fsynced line per shard it took (`{"shard":n,"hosts":[…],"at":…}`), written before the shard's
 * first host. What the database says cannot widen it: a journal cut back by a writer who may
 * DELETE (a prefix of a hash chain still verifies) makes a finished run look open again, and
 * this record is what still knows that its hosts ran here. The folder is the worker's own
 * (a service account's, like its trust pin: README, threat model).
 */
export function workerRecordOf(stateDir: string, runId: string): string {
  return path.join(stateDir, 'worker-runs', `${runId}.jsonl`);
}

/**
 * Refuses (`refuse(why)`) a shard naming a host this machine already ran in the run; otherwise
 * records the shard's hosts, durably, before any of them is touched. A shard recorded and then
 * not run (the worker killed in between) is never run here again: a host runs at most once.
 */
export async function recordShardHosts(
  stateDir: string,
  job: Pick<ShardJob, 'runId' | 'shard' | 'hosts'>,
  refuse: (why: string) => Error,
): Promise<void> {
  const file = workerRecordOf(stateDir, job.runId);
  const dir = path.dirname(file);
  await makeDirectory(dir, { mode: 0o700 });
  await withLockFile(
    `${file}.lock`,
    {},
    async () => {
      const ran = await hostsRecorded(file);
      const again = job.hosts.filter((h) => ran.has(h));
      if (again.length > 0)
        throw refuse(
          `${again.length === 1 ? 'host' : 'hosts'} ${again.join(', ')} already ran in run ${job.runId} on this worker (${file}): a host runs once`,
        );
      const handle = await open(file, 'a', 0o600);
      try {
        const line = { shard: job.shard, hosts: job.hosts, at: new Date().toISOString() };
        await handle.appendFile(`${JSON.stringify(line)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await syncDirectory(dir);
    },
    () => refuse(`the record of run ${job.runId} on this worker (${file}) stays locked`),
  );
}

/** Every host a record names; a line that does not parse names none (it was never complete). */
async function hostsRecorded(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw e;
  }
  const hosts = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const { hosts: named } = JSON.parse(line) as { hosts?: unknown };
      if (Array.isArray(named)) for (const h of named) hosts.add(String(h));
    } catch {
      // A torn last line: its fsync never returned, so its shard never started.
    }
  }
  return hosts;
}
