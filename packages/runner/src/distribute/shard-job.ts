import { runnerErrors } from '../error-codes.js';

/**
 * What the queue carries to a worker. Nothing in it is trusted: the approval is verified again
 * from its bytes with the worker's own checkout and trust pin, the hosts must be the approved
 * run's, and the run must be the one the store claimed for that approval. Secret params never
 * travel in it: a worker reads them from its own environment.
 */
export interface ShardJob {
  version: 1;
  runId: string;
  shard: number;
  zone: string;
  hosts: string[];
  /** The approval file's exact bytes, base64. */
  approval: string;
}

/** The job's payload as a ShardJob, or SHARD_REFUSED naming what is wrong with it. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function readShardJob(payload: unknown): ShardJob {
  const refuse = (what: string) =>
    new runnerErrors.RefusalError(
      'SHARD_REFUSED',
      `the shard job is malformed (${what}): nothing was run; submit the run again with opsbook run --distribute`,
    );
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    throw refuse('not an object');
  const p = payload as Record<string, unknown>;
  if (p.version !== 1) throw refuse(`version ${JSON.stringify(p.version)}, not 1`);
  if (typeof p.runId !== 'string' || p.runId === '') throw refuse('no runId');
  // A run id names files on the worker (its record of hosts run): the journal's own pattern.
  if (!RUN_ID.test(p.runId)) throw refuse('the runId is not a run id');
  if (!Number.isInteger(p.shard) || (p.shard as number) < 0) throw refuse('no shard number');
  if (typeof p.zone !== 'string') throw refuse('no zone');
  if (
    !Array.isArray(p.hosts) ||
    p.hosts.length === 0 ||
    !p.hosts.every((h) => typeof h === 'string')
  )
    throw refuse('no host list');
  if (new Set(p.hosts).size !== p.hosts.length) throw refuse('a host is listed twice');
  if (typeof p.approval !== 'string' || p.approval === '') throw refuse('no approval');
  return {
    version: 1,
    runId: p.runId,
    shard: p.shard as number,
    zone: p.zone,
    hosts: p.hosts as string[],
    approval: p.approval,
  };
}
