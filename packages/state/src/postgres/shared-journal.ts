import { canonicalJson, ValidationError } from '@opsbook/schema';
import type { Client } from 'pg';
import { GroupCommit } from '../group-commit.js';
import {
  chainLine,
  checkEvent,
  GENESIS_HASH,
  type JournalEvent,
  type JournalLine,
  type Masker,
} from '../journal.js';
import { HOLDER_COLUMNS, type HolderRow, holderOf, type LockHolder } from './lock-holders.js';
import {
  type JournalSession,
  LOCK_KEY_SQL,
  OWN_ADVISORY_LOCKS_SQL,
  openJournalSession,
} from './shared-journal-session.js';

export interface SharedJournalOptions {
  /** libpq connection url; absent, the PG* environment variables decide. */
  url?: string | undefined;
  runId: string;
  /** Applied to every string of every event before it is hashed and written. */
  mask?: Masker;
  clock?: () => Date;
  /**
   * A name only one process may hold while it appends (a distributed run's shard): taken as a
   * session advisory lock when the journal opens and again after every reconnection.
   */
  lease?: string;
  /**
   * The journal of the run's submitter, whose `lease` is `submitterLease(runId)`: each time the
   * lease is taken (again after a reconnection) its session is recorded as the run's submitter,
   * the one session `submitterLeaseHolders` believes.
   */
  isSubmitter?: boolean;
  /**
   * Asked each time `lease` is taken again after a reconnection (a restart, a dropped
   * connection): false fences this journal out for good (LEASE_LOST). A worker asks whether its
   * shard's job is still its own: a submitter may have taken the free lease meanwhile and given
   * the job back to the queue, then let the lease go.
   */
  isLeaseStillOwn?: () => Promise<boolean>;
  /** How long appends and reads retry while the server is down (default 30 s). */
  retryForMs?: number;
}

/** The run a shared journal belongs to, as the store claimed it. */
export interface SharedRun {
  runId: string;
  approvalId: string;
  /** 1 for an approval's first run: the runs before this one are runNumber - 1. */
  runNumber: number;
  ticket: string;
  isEnded: boolean;
}

/** Who holds a run's submitter lease now, as `submitterLeaseHolders` tells it. */
export interface SubmitterLeaseHolders {
  /** The session the run's submitter recorded as its own holds it. */
  isHeldBySubmitter: boolean;
  /** The other sessions that hold it: whoever took an advisory lock of that name. */
  others: LockHolder[];
}

/**
 * The journal of one run that several processes append to: the submitter of a distributed run
 * and its workers. The chain is made in the database: each batch, in one transaction, locks the
 * run's row, reads the last line's seq and hash, and inserts its lines after them, in the line
 * format of every journal (`chainLine`), so `readRun` and `journal verify` read it unchanged.
 * Appends made while a batch is being written go together in the next one.
 *
 * A batch whose commit answer was lost (a server restart) is looked for before it is written
 * again, by its time and content, so a restart neither loses nor doubles an event.
 */
export class SharedJournal {
  readonly location: string;
  private readonly commits: GroupCommit<JournalEvent, JournalLine>;
  private closed = false;
  /** Hosts with a host-start or host-end line among the lines up to hostsSeenUpTo. */
  private readonly startedHosts = new Set<string>();
  private hostsSeenUpTo = 0;

  private constructor(
    private readonly session: JournalSession,
    readonly run: SharedRun,
    private readonly mask: Masker,
    private readonly clock: () => Date,
  ) {
    this.location = journalLocationOf(session, run.runId);
    // One transaction per batch.
    this.commits = new GroupCommit(this.location, (events) => this.writeBatch(events));
  }

  /**
   * Starts the journal of a run the store claimed (as `createJournal` does): a run with a
   * journal already, from any machine, is refused.
   */
  static async create(options: SharedJournalOptions): Promise<SharedJournal> {
    const session = sessionOf(options);
    try {
      // Retried while the server is down (session.run): a retry that finds the journal started
      // with no line yet takes it as its first attempt's (committed, its answer lost), instead of
      // refusing a claimed run, whose claim counts against maxRuns, with no host run.
      const isStarted = await session.run(async (client, attempt) => {
        const { rowCount } = await client.query(
          `update opsbook_runs set journal_started_at = now()
           where run_id = $1 and journal_started_at is null
             and not exists (select 1 from opsbook_journal_lines where run_id = $1)`,
          [options.runId],
        );
        if (rowCount || attempt === 0) return Boolean(rowCount);
        const again = await client.query(
          `select 1 from opsbook_runs where run_id = $1 and journal_started_at is not null
             and not exists (select 1 from opsbook_journal_lines where run_id = $1)`,
          [options.runId],
        );
        return Boolean(again.rowCount);
      });
      if (!isStarted) {
        const where = journalLocationOf(session, options.runId);
        throw ValidationError.single(
          where,
          `a journal for run ${options.runId} already exists, or the run was never claimed: a run id is used once`,
          'journal-exists',
        );
      }
      return await SharedJournal.open(session, options);
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  /**
   * Joins the journal of a run already started and not ended (a worker of a distributed run);
   * with a lease, refused with LEASE_LOST when another process holds it.
   */
  static async join(options: SharedJournalOptions): Promise<SharedJournal> {
    const session = sessionOf(options);
    try {
      const journal = await SharedJournal.open(session, options);
      const where = journal.location;
      if (journal.run.isEnded)
        throw ValidationError.single(where, `run ${options.runId} has ended`, 'run-ended');
      return journal;
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  private static async open(
    session: JournalSession,
    options: SharedJournalOptions,
  ): Promise<SharedJournal> {
    const [row] = await session.query<{
      approval_id: string;
      run_number: number;
      ticket: string;
      ended: boolean;
      journaled: boolean;
    }>(
      `select approval_id, run_number, ticket, ended_at is not null as ended,
         journal_started_at is not null as journaled
       from opsbook_runs where run_id = $1`,
      [options.runId],
    );
    const where = journalLocationOf(session, options.runId);
    if (!row?.journaled)
      throw ValidationError.single(
        where,
        `run ${options.runId} has no journal in this store: it was never claimed or never started`,
        'unknown-run',
      );
    return new SharedJournal(
      session,
      {
        runId: options.runId,
        approvalId: row.approval_id,
        runNumber: row.run_number,
        ticket: row.ticket,
        isEnded: row.ended,
      },
      options.mask ?? ((t) => t),
      options.clock ?? (() => new Date()),
    );
  }

  /** Appends one event; resolves with its line once the line is committed. */
  append(event: JournalEvent): Promise<JournalLine> {
    try {
      if (this.closed)
        throw ValidationError.single(this.location, 'the journal is closed', 'closed');
      if (this.commits.hasFailed) throw this.commits.refusal();
      checkEvent(this.location, event);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.commits.push(event);
  }

  /** Lines after `seq`, in order (what a follower has not seen yet), at most `limit`. */
  async linesAfter(seq: number, limit = 5000): Promise<JournalLine[]> {
    const rows = await this.session.query<{ line: string }>(
      'select line from opsbook_journal_lines where run_id = $1 and seq > $2 order by seq limit $3',
      [this.run.runId, seq, limit],
    );
    return rows.map((r) => JSON.parse(r.line) as JournalLine);
  }

  /**
   * The hosts among `hosts` that already have a host-start or host-end line: a host is run once
   * per run, so none of them may start again.
   */
  async hostsSeen(hosts: readonly string[]): Promise<string[]> {
    if (hosts.length === 0) return [];
    const rows = await this.session.query<{ host: string }>(
      `select distinct line::jsonb ->> 'host' as host from opsbook_journal_lines
       where run_id = $1 and line::jsonb ->> 'type' in ('host-start', 'host-end')
         and line::jsonb ->> 'host' = any($2::text[])`,
      [this.run.runId, hosts.map((h) => this.mask(h))],
    );
    const seen = new Set(rows.map((r) => r.host));
    return hosts.filter((h) => seen.has(this.mask(h)));
  }

  /**
   * Whether some session holds `lease` now (observed, never taken) on this database: pg_locks
   * lists the advisory locks of every database of the server.
   */
  async isLeaseHeld(lease: string): Promise<boolean> {
    const [row] = await this.session.query<{ held: boolean }>(
      `select exists (select 1 from ${OWN_ADVISORY_LOCKS_SQL} l
         where granted and key = ${LOCK_KEY_SQL}) as held`,
      [lease],
    );
    return row?.held === true;
  }

  /**
   * Who holds the run's submitter lease (`submitterLease`, named `lease`) now on this database.
   * Any role may take an advisory lock of that name, so only the session the submitter recorded
   * as its own when it last took the lease counts: the same pid, and the same backend_start (a
   * pid reused by a later session is not it); where pg_stat_activity shows this role no
   * backend_start (another role's session, to a role without pg_read_all_stats), the same role.
   * Every other session holding it is in `others`.
   */
  async submitterLeaseHolders(lease: string): Promise<SubmitterLeaseHolders> {
    const rows = await this.session.query<HolderRow & { is_submitter: boolean }>(
      `select ${HOLDER_COLUMNS}, coalesce(l.pid = s.pid and a.usesysid = s.role
           and (a.backend_start = s.backend_start or a.backend_start is null), false) as is_submitter
       from ${OWN_ADVISORY_LOCKS_SQL} l left join pg_stat_activity a on a.pid = l.pid
         left join opsbook_run_submitters s on s.run_id = $2
       where l.granted and l.key = ${LOCK_KEY_SQL}
       order by l.pid`,
      [lease, this.run.runId],
    );
    return {
      isHeldBySubmitter: rows.some((r) => r.is_submitter),
      others: rows.filter((r) => !r.is_submitter).map(holderOf),
    };
  }

  /** Waits for pending appends, then ends the session (and with it the lease). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.drained();
    await this.session.close();
  }

  private writeBatch(events: readonly JournalEvent[]): Promise<JournalLine[]> {
    const at = this.clock();
    const { runId } = this.run;
    return this.session.run(async (client, attempt) => {
      if (attempt > 0) {
        const stored = await this.findStored(client, events, at);
        if (stored) return stored;
      }
      await client.query('begin');
      try {
        const lines = await this.chainAfterTail(client, events, at);
        await client.query(
          `insert into opsbook_journal_lines (run_id, seq, line, hash)
           select $1, * from unnest($2::int[], $3::text[], $4::text[])`,
          [
            runId,
            lines.map((l) => l.seq),
            lines.map((l) => JSON.stringify(l)),
            lines.map((l) => l.hash),
          ],
        );
        await client.query('commit');
        return lines;
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      }
    });
  }

  /** Locks the run's row, reads the chain's tail and builds the batch's lines after it. */
  private async chainAfterTail(
    client: Client,
    events: readonly JournalEvent[],
    at: Date,
  ): Promise<JournalLine[]> {
    const { runId } = this.run;
    const run = await client.query<{ ended: boolean }>(
      'select ended_at is not null as ended from opsbook_runs where run_id = $1 for update',
      [runId],
    );
    if (run.rows[0]?.ended !== false)
      throw ValidationError.single(
        this.location,
        `run ${runId} has ended (or is gone): its journal takes no more events`,
        'after-end',
      );
    const tail = await client.query<{ seq: number; hash: string; line: string }>(
      'select seq, hash, line from opsbook_journal_lines where run_id = $1 order by seq desc limit 1',
      [runId],
    );
    let seq = tail.rows[0]?.seq ?? 0;
    let prev = tail.rows[0]?.hash ?? GENESIS_HASH;
    if (tail.rows[0] && (JSON.parse(tail.rows[0].line) as JournalLine).type === 'run-end')
      throw ValidationError.single(
        this.location,
        'run-end was written: it must be the last event',
        'after-end',
      );
    const lines = events.map((event) => {
      const line = chainLine(event, { seq: ++seq, at, prev }, this.mask);
      prev = line.hash;
      return line;
    });
    await this.checkStartsOnce(client, lines, tail.rows[0]?.seq ?? 0);
    return lines;
  }

  /**
   * A host starts once per run: a batch that starts a host this run's journal already started
   * or ended is refused, under the run's row lock, whoever wrote the earlier line; so two
   * workers handed the same host (a forged queue entry) cannot both start it. The hosts seen
   * are kept between batches: each batch reads only the lines written since the last one.
   */
  private async checkStartsOnce(
    client: Client,
    lines: readonly JournalLine[],
    tailSeq: number,
  ): Promise<void> {
    const starting = lines.filter((l) => l.type === 'host-start').map((l) => String(l.host));
    if (starting.length === 0) return;
    if (tailSeq > this.hostsSeenUpTo) {
      // The line format puts `host` right after `type` in both events (chainLine, execute.ts).
      const { rows } = await client.query<{ line: string }>(
        `select line from opsbook_journal_lines where run_id = $1 and seq > $2 and seq <= $3
           and (line like '%"type":"host-start","host":%' or line like '%"type":"host-end","host":%')`,
        [this.run.runId, this.hostsSeenUpTo, tailSeq],
      );
      for (const r of rows) this.startedHosts.add(String((JSON.parse(r.line) as JournalLine).host));
      this.hostsSeenUpTo = tailSeq;
    }
    const twice = starting.find((h, i) => starting.indexOf(h) !== i || this.startedHosts.has(h));
    if (twice === undefined) return;
    throw ValidationError.single(
      this.location,
      `host ${twice} already started in run ${this.run.runId}: a host runs once per run`,
      'host-started-twice',
    );
  }

  /**
   * After a lost commit answer: the batch's lines if its first event is stored (same time, same
   * content; a batch is committed whole or not at all), else undefined.
   */
  private async findStored(
    client: Client,
    events: readonly JournalEvent[],
    at: Date,
  ): Promise<JournalLine[] | undefined> {
    const first = contentOf(chainLine(events[0]!, { seq: 0, at, prev: '' }, this.mask));
    const { rows } = await client.query<{ seq: number; line: string }>(
      `select seq, line from opsbook_journal_lines where run_id = $1 and position($2 in line) > 0
       order by seq`,
      [this.run.runId, `"at":${JSON.stringify(at.toISOString())}`],
    );
    const match = rows.find((r) => contentOf(JSON.parse(r.line) as JournalLine) === first);
    if (!match) return undefined;
    const stored = await client.query<{ line: string }>(
      'select line from opsbook_journal_lines where run_id = $1 and seq >= $2 order by seq limit $3',
      [this.run.runId, match.seq, events.length],
    );
    return stored.rows.map((r) => JSON.parse(r.line) as JournalLine);
  }
}

/** The journal's session; a submitter's records itself as the run's each time it takes its lease. */
function sessionOf(options: SharedJournalOptions): JournalSession {
  const { runId } = options;
  const { isLeaseStillOwn } = options;
  return openJournalSession({
    ...options,
    isLeaseStillOwn: isLeaseStillOwn && (() => isLeaseStillOwn()),
    onLeaseTaken: options.isSubmitter ? (client) => recordSubmitter(client, runId) : undefined,
  });
}

/**
 * Records the session of `client`, which holds the submitter lease of run `runId` now, as the
 * run's submitter (a run the store never claimed has none). Taken after the lease: a worker that
 * looks in between sees the lease held by a session not recorded yet, and waits on.
 */
async function recordSubmitter(client: Client, runId: string): Promise<void> {
  await client.query(
    `insert into opsbook_run_submitters (run_id, pid, backend_start, role, recorded_at)
     select r.run_id, a.pid, a.backend_start, a.usesysid, now()
     from opsbook_runs r join pg_stat_activity a on a.pid = pg_backend_pid()
     where r.run_id = $1
     on conflict (run_id) do update set pid = excluded.pid,
       backend_start = excluded.backend_start, role = excluded.role,
       recorded_at = excluded.recorded_at`,
    [runId],
  );
}

/** A line without its place in the chain: what an event said, and when. */
function contentOf(line: JournalLine): string {
  const { seq: _s, prev: _p, hash: _h, ...content } = line;
  return canonicalJson(content);
}

function journalLocationOf(session: JournalSession, runId: string): string {
  return `${session.target.location} run ${runId}`;
}
