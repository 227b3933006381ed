export type { ShardNotice } from './follow.js';
export { HostResults } from './host-results.js';
export { installQueue, type JobState, type QueueLog } from './queue.js';
export type { ShardJob } from './shard-job.js';
export { runShard, type ShardOutcome, type ShardRequest } from './shard-run.js';
export {
  DEFAULT_SHARD_SIZE,
  DEFAULT_ZONE,
  type Shard,
  shardTask,
  splitIntoShards,
  ZONE_VAR,
  zoneOf,
} from './shards.js';
export { type DistributedRunRequest, runDistributed } from './submit.js';
export {
  checkWorkerMachine,
  runWorker,
  type WorkerNotice,
  type WorkerRequest,
  zonesWithoutHosts,
} from './worker.js';
