import { isOpsbookError, OpsbookError } from '@opsbook/schema';
import { retryWhileDown, type SharedJournal, type StateStore } from '@opsbook/state';
import type { Queue } from './queue.js';

export interface EnqueueInput {
  journal: SharedJournal;
  store: StateStore;
  queue: Queue;
  runId: string;
  ticket: string;
  approvalFile: string;
  shards: readonly number[];
  hosts: readonly string[];
  /** Tells the run's ticket that it ended with no step started (absent: no ticket to tell). */
  finishTicket?: () => Promise<unknown>;
}

/** The reason a shard's job is failed with when its run could not queue them all. */
const UNQUEUED = 'withdrawn: the submitting opsbook run could not queue every shard of the run';

/**
 * Queues the shards (`add`). If the queue refuses (PostgreSQL down past the retries), the run
 * is ended there (every host not-started, the run failed, its ticket told) when nothing of it can
 * have run, the database answering again within 30 s: every shard queued is withdrawn first, and none was taken nor any host journaled.
 * Otherwise it stays incomplete. The error keeps its code and says which, and what to do.
 */
export async function enqueueShards(input: EnqueueInput, add: () => Promise<void>): Promise<void> {
  try {
    await add();
  } catch (e) {
    const ended = await endUnqueued(input).catch(() => false as const);
    const ticketTold = ended && (await tellTicket(input));
    if (!isOpsbookError(e)) throw e;
    const { runId, ticket } = input;
    const what = ended
      ? `Run ${runId} was started, but its shards could not be queued: no host was run, and the run is recorded as failed (every host not-started), which does not use its approval. Once the server is back, run it again: opsbook run ${input.approvalFile} --distribute. ${ticketTold ? `Its ticket ${ticket} was told.` : `Its ticket ${ticket} could not be told: opsbook ticket report ${ticket} names the way out.`}`
      : `Run ${runId} was started, but its shards could not all be queued, and it stays incomplete: its end could not be recorded, or a worker may have taken one of its shards. A worker refuses the shards of a run nobody follows, so nothing more of it starts; once the server is back, opsbook runs show ${runId} says what ran on each host, and opsbook ticket report ${ticket} names the way out.`;
    throw new OpsbookError(
      e.kind,
      e.code,
      `${e.message.replace(/[.\s]+$/, '')}. ${what}`,
      { ...e.details, runId },
      { cause: e },
    );
  }
}

/**
 * Ends the run as failed with every host not-started, when nothing of it can have run: its
 * queued shards withdrawn, none taken, no host in its journal. False when it cannot say so (the
 * database still down, a shard taken), and the run is left open.
 */
async function endUnqueued(input: EnqueueInput): Promise<boolean> {
  const { journal, queue, store, runId, shards, hosts } = input;
  // The server may be back soon: as long as the queueing was retried.
  await retryWhileDown(() => queue.withdraw(runId, shards, UNQUEUED));
  const states = await queue.states(runId, shards);
  if ([...states.values()].some((s) => s.state === 'taken' || s.state === 'queued')) return false;
  if ((await journal.hostsSeen(hosts)).length > 0) return false;
  const end = await journal.append({
    type: 'run-end',
    status: 'failed',
    hosts: Object.fromEntries(hosts.map((h) => [h, 'not-started'])),
    interrupted: false,
    stoppedByFailures: false,
  });
  await store.recordRunEnd({ runId, head: end.hash, count: end.seq, status: 'failed' });
  return true;
}

async function tellTicket(input: EnqueueInput): Promise<boolean> {
  if (!input.finishTicket) return true;
  return input.finishTicket().then(
    () => true,
    () => false,
  );
}
