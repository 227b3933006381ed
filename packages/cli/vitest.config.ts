import { availableParallelism } from 'node:os';
import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

/**
 * The CLI's test files spend much of their time waiting on real parts (a PostgreSQL down for
 * 100 s, a worker killed mid-shard, an outbox's retries), not computing: two of them run at once
 * even on a two-core machine, where vitest's default (cores − 1) ran them one after the other.
 */
export default mergeConfig(shared, {
  test: { maxWorkers: Math.max(2, availableParallelism() - 1) },
});
