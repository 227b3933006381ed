import path from 'node:path';
import type { ApprovalStatement } from '@opsbook/approval';
import { isOpsbookError, readOwnFile, refusalText } from '@opsbook/schema';
import {
  type JournalLine,
  type RunRecordView,
  type StateStore,
  verifyJournalBytes,
} from '@opsbook/state';
import {
  type DamagedOutboxEntry,
  type Doc,
  hasText,
  type OutboxEntry,
  type StatusNames,
  sameVisibility,
  type Tracker,
  textDoc,
  visibilityText,
} from '@opsbook/tracker';
import { runnerErrors } from '../error-codes.js';
import { digestJournal, evidenceBundle, summarizeRun } from './run-summary.js';
import {
  approversOf,
  handoverBlocks,
  type RunStart,
  reviewerOf,
  runStartComment,
} from './ticket-handover.js';
import { accountOf, personOf, type TicketPerson } from './ticket-people.js';
import {
  APPROVAL_PROPERTY,
  approvalNotCurrent,
  doneHint,
  type TicketApproval,
} from './ticket-record.js';
import { type TicketServices, trackerText } from './ticket-tracker.js';
import {
  assignTo,
  deliverWrites,
  pendingReport,
  type QueuedWrite,
  type QueuedWrites,
  queueWrites,
} from './ticket-writes.js';

/**
 * Issue properties recording the runs made on the ticket, one property per run
 * (`opsbook.run.<runId>`): each runner writes only its own, so two runners never overwrite each
 * other's record (a single list, read-modified-written by both, kept only the last writer's).
 * `opsbook.runs`, the list earlier versions wrote, is still read.
 */
export const RUN_PROPERTY_PREFIX = 'opsbook.run.';
export const RUNS_PROPERTY = 'opsbook.runs';

/**
 * Run records read from the tracker at once. On Jira each is a request of its own, and a ticket
 * collects one per run (retries, `maxRuns` over 1, a recurring ticket): read one after the other,
 * a run's start (which reads them twice: its check and its claim) waited for every round trip.
 */
export const RUN_RECORD_READS = 4;

/** Every run recorded on the ticket, oldest first: per-run properties and the old list. */
export async function readTicketRuns(
  tracker: TicketServices['tracker'],
  key: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<TicketRunRecord[]> {
  const read = options.signal ? { signal: options.signal } : {};
  const [legacy, allKeys] = await Promise.all([
    tracker.getProperty(key, RUNS_PROPERTY, read),
    tracker.propertyKeys(key, read),
  ]);
  const byId = new Map<string, TicketRunRecord>();
  for (const r of Array.isArray(legacy) ? (legacy as TicketRunRecord[]) : []) byId.set(r.runId, r);
  const keys = allKeys.filter((k) => k.startsWith(RUN_PROPERTY_PREFIX));
  const records = await mapInOrder(
    keys,
    RUN_RECORD_READS,
    (k) => tracker.getProperty(key, k, read) as Promise<TicketRunRecord | undefined>,
  );
  for (const r of records) {
    if (r && typeof r.runId === 'string' && !r.withdrawn) byId.set(r.runId, r);
  }
  return [...byId.values()].sort((a, b) =>
    a.startedAt === b.startedAt ? (a.runId < b.runId ? -1 : 1) : a.startedAt < b.startedAt ? -1 : 1,
  );
}

/**
 * `fn` of every item, at most `limit` at once, the results in the items' order. After one fails,
 * no further item is started, and that failure is the result.
 */
async function mapInOrder<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface TicketRunRecord {
  runId: string;
  approvalId: string;
  by: string;
  startedAt: string;
  status?: string;
  journalHead?: string;
  journalEvents?: number;
  postchecks?: { passed: number; failed: number };
  /** A claim its runner took back (it lost the race for the approval's last run). */
  withdrawn?: boolean;
  /**
   * `false`: the run ended with no step started on any host, so it did not use the approval.
   * Honoured only when its live runner wrote it at the run's end (`endReportedBy: 'runner'`):
   * see isUnusedRun.
   */
  reached?: boolean;
  /**
   * Who wrote the run's end: `runner`, its own runner as the run ended; `ticket report`, later,
   * from the journal and ledger in the state store of the machine that ran it, which that
   * machine's user can edit (a keyless hash chain, rewritten whole, still verifies). A late end
   * always counts the run against the approval, and `ticket accept` refuses it unless the senior
   * accepts it explicitly (`--accept-late-report`). Absent: written by an earlier opsbook, which
   * did not say (taken as a late report).
   */
  endReportedBy?: RunEndReporter;
  /**
   * The schedule's slot the run was started for (`<schedule>@<slot, ISO>`), when a scheduler
   * started it: the ticket is what says a slot ran, since the slot's row is the database's.
   */
  slot?: string;
}

export type RunEndReporter = 'runner' | 'ticket report';

/**
 * Whether the ticket's record of a claimed run says it did not use the approval: only a
 * `reached: false` its live runner wrote at the run's end. A late report (`ticket report`, from
 * a state dir the engineer can edit) never frees a run, nor does a record that does not say who
 * wrote it (an earlier `ticket report` wrote `reached: false` from an edited journal).
 */
export function isUnusedRun(record: TicketRunRecord): boolean {
  return record.reached === false && record.endReportedBy === 'runner';
}

/** How a run's end reaches `TicketGate.finish`. */
export interface RunEndReport {
  /** The store's `readRun(runId)`, when the caller has read the run already (verified once). */
  stored?: RunRecordView | undefined;
  /**
   * Set by the run's own runner as the run ends, never by a late report: whether it started a
   * step (journaled a step-start) on any host, as it counted itself.
   */
  live?: { stepStarted: boolean };
}

/** What became of the end-of-run writes: delivered now, or kept in the outbox for later. */
export interface TicketReport {
  ticket: string;
  delivered: number;
  pending: OutboxEntry[];
  failed: OutboxEntry[];
  /** Set when the report could not even be queued (disk full…); the run itself still stands. */
  error?: string;
  /** What the tracker left out of a write it took (a create without the grade's priority). */
  warnings?: string[];
  /**
   * Damaged outbox entries (unreadable files) that keep every write of the outbox from going
   * out: `pending` waits behind them until they are repaired or moved out of the outbox folder.
   */
  blockedBy?: DamagedOutboxEntry[];
  /** With `blockedBy`: the status the ticket still shows (its status before the run). */
  shownStatus?: string;
  /**
   * The status a run's end moved the ticket to (its review status), when it did: the run is
   * then the reviewing senior's to check (`ticket accept`). Unset when it stays In Progress.
   */
  movedTo?: string;
}

export interface TicketGateOptions {
  services: TicketServices;
  /** The runs this machine (or, with PostgreSQL, the team) has made. */
  store: StateStore;
  /** The ticket the user named (`opsbook ticket run KEY`); must be the approval's ticket. */
  expectedTicket?: string;
  now?: () => Date;
  signal?: AbortSignal;
  /**
   * The schedule's slot a scheduler runs (`<schedule>@<slot, ISO>`): recorded with the run's
   * claim, and a slot the ticket records a run of already is refused (SCHEDULE_SLOT_RAN), so that
   * a slot runs once even when its row in the database was deleted and the slot queued again.
   */
  slot?: string;
}

/** The run the ticket records for `slot` besides `runId`, if any: a slot runs once. */
function slotRanAs(
  runs: readonly TicketRunRecord[],
  slot: string | undefined,
  runId?: string,
): TicketRunRecord | undefined {
  if (slot === undefined) return undefined;
  return runs.find((r) => r.slot === slot && r.runId !== runId);
}

function slotRan(key: string, slot: string, run: TicketRunRecord): Error {
  return new runnerErrors.RefusalError(
    'SCHEDULE_SLOT_RAN',
    `${key} records run ${run.runId} for the slot ${slot} already: a slot runs once, nothing ran (its row in the database was deleted, or the slot was queued again)`,
    { ticket: key },
  );
}

/** What to do about a ticket in `status` that a run cannot start from. */
function notApprovedHint(key: string, status: string, names: StatusNames): string {
  const is = (name: string) => name.toLowerCase() === status.toLowerCase();
  if (is(names.open))
    return `propose the plan on it first (opsbook ticket propose ${key}), then have a senior approve it`;
  if (is(names.awaitingApproval))
    return `a senior approves the proposed plan first (opsbook ticket approve ${key})`;
  if (is(names.done)) return doneHint(key);
  if (is(names.review))
    return `its work was run and handed over; a further run needs a new proposal and approval (a senior rejects the run: opsbook ticket reject ${key} --reason …, which sends ${key} back to "${names.open}"; or a new ticket)`;
  return `move it to "${names.approved}" through the workflow (propose, then a senior approves: opsbook ticket propose|approve ${key})`;
}

/**
 * The approval's runs are checked and claimed on the tracker its statement binds, the one the
 * senior approved it on: a runner's own opsbook.yaml, `--config` or JIRA_BASE_URL naming another
 * (a local tracker of their own, a Jira they run) would count its runs where the engineer can
 * forge the ticket and forget the claims, and so run a used approval again.
 */
export function checkTrackerBinding(statement: ApprovalStatement, tracker: Tracker): void {
  const bound = statement.tracker;
  if (!bound)
    throw new runnerErrors.RefusalError(
      'TRACKER_UNBOUND',
      `the approval for ${statement.ticket} names no tracker to count its runs on (it was made by an older opsbook, before approvals named their tracker): nothing was run; plan it again and have it approved`,
      { ticket: statement.ticket },
    );
  if (bound.kind !== tracker.kind || bound.site !== tracker.site)
    throw new runnerErrors.RefusalError(
      'TRACKER_MISMATCH',
      `the approval for ${statement.ticket} counts its runs on ${trackerText(bound)}, but this configuration names ${trackerText(tracker)}: nothing was run; run it with the opsbook.yaml and JIRA_BASE_URL it was planned with (tracker.kind, tracker.jira.baseUrl)`,
      { ticket: statement.ticket },
    );
  // Who may read the run's output on the ticket is what the senior approved: a configuration
  // restricting it otherwise, or not at all, would post it for others. (An approval that binds no
  // restriction posts as this configuration says: any restriction only narrows it.)
  if (
    bound.commentVisibility !== undefined &&
    !sameVisibility(bound.commentVisibility, tracker.commentVisibility)
  )
    throw new runnerErrors.RefusalError(
      'TRACKER_MISMATCH',
      `the approval for ${statement.ticket} was planned with ${visibilityText(bound.commentVisibility)}, but this configuration posts ${visibilityText(tracker.commentVisibility)}: nothing was run; run it with the opsbook.yaml it was planned with (tracker.jira.commentVisibility)`,
      { ticket: statement.ticket },
    );
}

/**
 * A ticket that carries an approval (`ticket approve` left it) runs that approval and no other:
 * a plan a senior signed earlier, as a file or on the ticket, stops counting once another plan is
 * approved on the ticket or a senior rejected it, although its signature, window and run limit
 * still hold. Without this, the ticket would record that one plan was approved while another ran.
 * A ticket with no approval on it (plain `plan`/`approve`, the ticket moved by hand) runs any
 * approval for it that verifies.
 */
function checkCurrentApproval(
  key: string,
  statement: ApprovalStatement,
  approval: TicketApproval | undefined,
): void {
  const why = approvalNotCurrent(key, statement.id, approval);
  if (why)
    throw new runnerErrors.RefusalError(
      'APPROVAL_NOT_CURRENT',
      `${why.what}: nothing was run; ${why.next}`,
      { ticket: key },
    );
}

/**
 * A worker's check of the ticket of a distributed run before it runs a shard of it: the checks
 * `TicketGate.check` makes on the submitter's machine, made again on the tracker the approval
 * binds, since whoever submits a run also writes the queue (the database) and can queue a run
 * without them (the runner library's `runDistributed` with no ticket gate). The ticket must still
 * be Approved or In Progress (a senior who moved it on has revoked the approval), carry this
 * approval if it carries one, record this run (its submitter claims it there before it queues
 * any shard), and record no more of the approval's runs, this one included, than `maxRuns`.
 * The approval's validity window is judged by the tracker's clock too, as `TicketGate.check`
 * judges it: a shard can wait in the queue past the approval's expiry, and the worker machine's
 * clock can be wrong. Throws the refusal, with the code `TicketGate.check` gives.
 */
export async function checkRunOnTicket(
  tracker: Tracker,
  store: StateStore,
  statement: ApprovalStatement,
  runId: string,
  options: { signal?: AbortSignal | undefined; now?: Date | undefined } = {},
): Promise<void> {
  checkTrackerBinding(statement, tracker);
  await judgeTicket(tracker, store, statement, { signal: options.signal, claimed: runId });
  refuseOutsideWindowByTracker(statement, tracker, options.now ?? new Date());
}

/** What the ticket said of an approval that may run: the approval it carries, and its runs. */
interface TicketVerdict {
  approval: TicketApproval | undefined;
  /** The ticket's status as judged. */
  status: string;
  /** The approval's runs the ticket or the store counts (see `countedRuns`). */
  runs: Set<string>;
}

/**
 * The one judgement of a ticket before an approval runs, made by the runner that claims the run
 * (`TicketGate.check`) and again by each worker of a distributed run (`checkRunOnTicket`): the
 * ticket exists under its key, is in a status the senior signed as runnable (Approved or In
 * Progress, named by the statement, never by this configuration), carries this approval if it
 * carries one, and has a run of it left. `claimed`: a worker's check of a run its submitter has
 * claimed, which the ticket must record and which counts among `maxRuns`; without it, one more
 * run must fit.
 *
 * The ticket, the approval it carries and its runs are asked for at once (on Jira, requests of
 * their own that a run's start waited for one after the other), then judged in that order: the
 * ticket's answer first, so a missing ticket or a wrong status is what a refusal says. The reads
 * a refusal makes moot are cancelled with it: a refused run waits for none of them.
 */
/**
 * How far before its `notBefore` the tracker's clock may be when an approval is run at once: the
 * senior's machine, whose clock set it, may be that much ahead of the tracker's.
 */
const TRACKER_CLOCK_LEEWAY_MS = 5 * 60_000;

/**
 * The approval's validity window against the tracker's clock, after this machine's: the runner
 * machine's clock is the engineer's to set (`date -s`, faketime), the tracker's is not. Jira dates
 * every answer (RFC 9110 §6.6.1: an origin server with a clock MUST, in every 2xx, 3xx and 4xx
 * answer), and the ticket was read before this: a Jira whose answers came undated (a proxy that
 * strips the header) leaves only this machine's clock, so the run is refused (fail closed). The
 * embedded tracker has no clock but this machine's, and is not checked again.
 */
function refuseOutsideWindowByTracker(
  s: ApprovalStatement,
  tracker: TicketServices['tracker'],
  localNow: Date,
): void {
  const trackerNow = tracker.serverNow?.();
  if (!trackerNow && tracker.kind === 'jira')
    throw new runnerErrors.RefusalError(
      'TRACKER_CLOCK_UNKNOWN',
      `nothing was run: Jira at ${tracker.site} answered without a Date header (or with one that is not a date), so the approval's validity window (${s.notBefore} to ${s.expiresAt}) cannot be checked against Jira's clock, and this machine's clock alone is not trusted for it. Jira itself always sends one: check that JIRA_BASE_URL (tracker.jira.baseUrl) reaches Jira directly, or that the proxy in front of it passes the Date header on`,
      { ticket: s.ticket },
    );
  if (!trackerNow) return;
  const clocks = `${tracker.site}'s clock says ${trackerNow.toISOString()} (its last answer's Date), this machine's ${localNow.toISOString()}`;
  if (trackerNow.getTime() >= Date.parse(s.expiresAt))
    throw new runnerErrors.RefusalError(
      'EXPIRED',
      `nothing was run: the approval expired at ${s.expiresAt} by the tracker's clock: ${clocks}; ask a senior to approve again, and set this machine's clock right (NTP)`,
      { ticket: s.ticket },
    );
  if (trackerNow.getTime() + TRACKER_CLOCK_LEEWAY_MS < Date.parse(s.notBefore))
    throw new runnerErrors.RefusalError(
      'NOT_YET_VALID',
      `nothing was run: the approval is valid from ${s.notBefore}, not yet by the tracker's clock: ${clocks}; wait until then, and set this machine's clock right (NTP)`,
      { ticket: s.ticket },
    );
}

async function judgeTicket(
  tracker: Tracker,
  store: StateStore,
  statement: ApprovalStatement,
  options: { signal?: AbortSignal | undefined; claimed?: string; slot?: string | undefined },
): Promise<TicketVerdict> {
  const key = statement.ticket;
  const moot = new AbortController();
  const signal = options.signal;
  const read = { signal: signal ? AbortSignal.any([signal, moot.signal]) : moot.signal };
  const ticketRead = tracker.get(key, read);
  const approvalRead = tracker.getProperty(key, APPROVAL_PROPERTY, read);
  const runsRead = readTicketRuns(tracker, key, read);
  // Their failures are seen where they are awaited; not at all when the ticket refuses first.
  approvalRead.catch(() => undefined);
  runsRead.catch(() => undefined);
  try {
    const ticket = await ticketRead.catch((e: unknown) => {
      if (!isOpsbookError(e) || e.code !== 'TRACKER_TICKET_NOT_FOUND') throw e;
      throw new runnerErrors.RefusalError(
        e.code,
        `nothing was run: the approval is for ${key}, and ${e.message} If ${key} is gone, the run needs a new approval on an existing ticket.`,
        { ticket: key },
      );
    });
    if (ticket.key !== key)
      throw new runnerErrors.RefusalError(
        'TICKET_MISMATCH',
        `the tracker answered for ${key} with ${ticket.key} (moved or renamed): ask a senior to approve the run on ${ticket.key}`,
        { ticket: key },
      );
    // The statuses the senior signed, not this configuration's: renaming "Approved" in one's own
    // opsbook.yaml must not open the gate on a ticket that is Done or rejected.
    const { approved, inProgress } = statement.tracker!.statuses;
    const ok = [approved, inProgress].some((s) => s.toLowerCase() === ticket.status.toLowerCase());
    if (!ok)
      throw new runnerErrors.RefusalError(
        'TICKET_NOT_APPROVED',
        `${key} is "${ticket.status}", not "${approved}" or "${inProgress}": nothing was run; ${notApprovedHint(key, ticket.status, tracker.statuses)}`,
        { ticket: key },
      );
    // A standing approval too: a recurring ticket whose senior rejected it and approved another
    // carries that other one, and the rejected one must not run again on it.
    const approval = (await approvalRead) as TicketApproval | undefined;
    checkCurrentApproval(key, statement, approval);
    const recorded = await runsRead;
    const ran = slotRanAs(recorded, options.slot);
    if (ran) throw slotRan(key, options.slot!, ran);
    const runs = await countedRuns(store, statement, recorded);
    const claimed = options.claimed;
    if (claimed === undefined) {
      if (runs.size >= statement.maxRuns)
        throw new runnerErrors.RefusalError(
          'RUNS_EXHAUSTED',
          `this approval allowed ${statement.maxRuns} run(s) and ${key} records ${runs.size}: ask a senior for a new approval (opsbook ticket reject ${key} --reason … sends the ticket back to Open for a new plan, also from In Progress when a run died before its end)`,
          { ticket: key },
        );
      return { approval, runs, status: ticket.status };
    }
    const onTicket = recorded.some(
      (r) => r.runId === claimed && r.approvalId === statement.id && !isUnusedRun(r),
    );
    if (!onTicket)
      throw new runnerErrors.RefusalError(
        'RUN_NOT_ON_TICKET',
        `${key} does not record run ${claimed} of approval ${statement.id}: a run's submitter (opsbook run --distribute, opsbook ticket run --distribute) claims it on the ticket before it queues any shard, so this run was queued some other way`,
        { ticket: key },
      );
    if (runs.size > statement.maxRuns)
      throw new runnerErrors.RefusalError(
        'RUNS_EXHAUSTED',
        `this approval allowed ${statement.maxRuns} run(s) and ${key} and the team's store record ${runs.size}, this one included (${[...runs].join(', ')})`,
        { ticket: key },
      );
    return { approval, runs, status: ticket.status };
  } catch (e) {
    moot.abort();
    throw e;
  }
}

/**
 * Runs that used the approval, as the tracker or the state store sees them, each counted once:
 * a run either of them counts is counted (so a run's own end, still in the outbox, counts it
 * until it is delivered).
 */
async function countedRuns(
  store: StateStore,
  statement: ApprovalStatement,
  recorded: readonly TicketRunRecord[],
): Promise<Set<string>> {
  const ids = new Set(
    recorded.filter((r) => r.approvalId === statement.id && !isUnusedRun(r)).map((r) => r.runId),
  );
  for (const r of await store.approvalRuns(statement.id)) if (r.used) ids.add(r.runId);
  return ids;
}

/**
 * The run ↔ ticket contract (issue 5, item 2), called by runApproved at three points:
 * `check` before anything runs (the only step that needs the tracker to answer), `start` once
 * the run is claimed, `finish` when it ended. `start` and `finish` write through the outbox, so
 * a tracker outage never fails or loses a finished run.
 */
export class TicketGate {
  private own: TicketRunRecord | undefined;
  private statement: ApprovalStatement | undefined;
  /** The runs of the approval the ticket and the store counted when this run was claimed. */
  private claimed = new Set<string>();
  /** The senior named at approval to review (`ticket approve --reviewer`), read by `check`. */
  private reviewerNamed: string | undefined;
  /** What kept `finish` from queueing the run's end (see `endError`). */
  private endRefusal: unknown;
  /** The ticket's status when the run was checked: what it shows while the run's writes wait. */
  private statusBefore: string | undefined;
  /** Who the ticket goes to at In Review, and the approvers, known once the run started. */
  private handover: { reviewer: TicketPerson; approvers: TicketPerson[] } | undefined;
  constructor(private readonly options: TicketGateOptions) {}

  private get now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async check(statement: ApprovalStatement): Promise<void> {
    const { tracker } = this.options.services;
    const key = statement.ticket;
    const expected = this.options.expectedTicket;
    if (expected !== undefined && expected !== key)
      throw new runnerErrors.RefusalError(
        'TICKET_MISMATCH',
        `the approval is for ${key}, not ${expected}: run the approval attached to ${expected}, or ask for one on it`,
        { ticket: expected },
      );
    checkTrackerBinding(statement, tracker);
    const { approval, status } = await judgeTicket(tracker, this.options.store, statement, {
      signal: this.options.signal,
      slot: this.options.slot,
    });
    refuseOutsideWindowByTracker(statement, tracker, this.now);
    this.statement = statement;
    this.statusBefore = status;
    if (!('selector' in statement.targets) && approval?.approvalId === statement.id)
      this.reviewerNamed = approval.reviewer;
  }

  /**
   * Claims one of the approval's runs on the ticket, so that runners on machines that share no
   * state store cannot run it more often than it allows: write this run's own record first, then
   * read every record back, and go on only if no more than maxRuns are there. Of N + 1 runners
   * racing for N runs, the one that reads last sees all N + 1 records and backs off, so at most N
   * go on (the tracker must show a write to every read that starts after it, as Jira does). Two
   * racing runners may both back off; neither ran, and either can simply run again. Synchronous,
   * not through the outbox: with the tracker unreachable, nothing runs.
   */
  async claim(runId: string, by: string): Promise<void> {
    const s = this.required();
    const { tracker } = this.options.services;
    const signal = this.options.signal;
    const property = `${RUN_PROPERTY_PREFIX}${runId}`;
    const slot = this.options.slot;
    this.own = {
      runId,
      approvalId: s.id,
      by,
      startedAt: this.now.toISOString(),
      ...(slot !== undefined ? { slot } : {}),
    };
    await tracker.setProperty(s.ticket, property, this.own, signal ? { signal } : {});
    const runs = await readTicketRuns(tracker, s.ticket, { signal });
    const ids = await countedRuns(this.options.store, s, runs);
    ids.add(runId);
    this.claimed = ids;
    // Two schedulers taking one slot at once (its row deleted in between): both back off.
    const twin = slotRanAs(runs, slot, runId);
    if (twin) {
      await this.withdraw();
      throw slotRan(s.ticket, slot!, twin);
    }
    if (ids.size <= s.maxRuns) return;
    await this.withdraw();
    throw new runnerErrors.RefusalError(
      'RUNS_EXHAUSTED',
      `this approval allows ${s.maxRuns} run(s) and ${ids.size} were claimed on ${s.ticket} at the same moment (${[...ids].join(', ')}): nothing was run; if no run of it went ahead, run it again`,
      { ticket: s.ticket },
    );
  }

  /** Takes back this run's claim (its run will not happen); best effort, never throws. */
  async withdraw(): Promise<void> {
    const own = this.own;
    if (!own || !this.statement) return;
    this.own = undefined;
    const signal = this.options.signal;
    await this.options.services.tracker
      .setProperty(
        this.statement.ticket,
        `${RUN_PROPERTY_PREFIX}${own.runId}`,
        { ...own, withdrawn: true },
        signal ? { signal } : {},
      )
      .catch(() => undefined);
  }

  /**
   * Record the approval's use on the ticket, say who runs what where (`run`: the verified run,
   * its hosts), and move the ticket to In Progress (through the outbox).
   */
  async start(runId: string, by: string, run?: RunStart): Promise<TicketReport> {
    return (await this.queueStart(runId, by, run)).deliver();
  }

  /**
   * `start` in two halves: resolves once its writes are on disk in the outbox; `deliver()` sends
   * them. A run delivers them while its hosts run, and must call `deliver()` before `finish`
   * (whose writes come after them on the ticket).
   */
  async queueStart(runId: string, by: string, run?: RunStart): Promise<QueuedWrites> {
    const s = this.required();
    this.own ??= { runId, approvalId: s.id, by, startedAt: this.now.toISOString() };
    const writes: QueuedWrite[] = [
      {
        write: { kind: 'setProperty', property: `${RUN_PROPERTY_PREFIX}${runId}`, value: this.own },
      },
    ];
    if (run) {
      const executor = personOf(
        run.verified.executor ?? { id: by },
        run.verified.executor?.fingerprint ?? '',
      );
      const journal = this.options.store.journalLocation(runId);
      writes.push({
        write: { kind: 'comment', body: runStartComment(s, { runId, executor, journal }, run) },
      });
      const approvers = approversOf(run);
      const reviewer = reviewerOf(run.verified.trust, approvers, this.reviewerNamed);
      if (reviewer) this.handover = { reviewer, approvers };
    }
    writes.push({
      write: { kind: 'transition', status: this.options.services.tracker.statuses.inProgress },
    });
    return queueWrites(this.options.services, s.ticket, writes);
  }

  /**
   * What waits in the outbox for the run's ticket after a delivery failed with `error` (its
   * writes stay there). Never rejects: an outbox that cannot be read gives no pending list.
   */
  async pendingAfter(error: unknown): Promise<TicketReport> {
    const key = this.required().ticket;
    return pendingReport(this.options.services, key, error, { aroundDamage: true }).catch(() => ({
      ticket: key,
      delivered: 0,
      pending: [],
      failed: [],
      error: refusalText(error),
    }));
  }

  /**
   * Summary comment, journal and evidence attachments, the run's record, and In Review. The
   * ticket stays In Progress when more runs may follow: a standing approval's recurring ticket,
   * a run that reached no host (it did not use the approval), and a run that did not end ok
   * while the approval has runs left (`--retry-failed`). Never throws.
   *
   * `end.live`: the run's own runner reports its end, and says whether it started a step. Without
   * it the end is a late report (`ticket report`, from the state store): the run counts against
   * the approval whatever its journal says, since whoever can edit that journal can make it say
   * no host was reached; and the ticket marks the end as reported late. A run killed after it
   * reached no host thus loses its place, and a senior approves again.
   */
  async finish(store: StateStore, runId: string, end: RunEndReport = {}): Promise<TicketReport> {
    const s = this.required();
    const late = end.live === undefined;
    try {
      // Counted without asking the tracker again: a tracker down now must not lose the report.
      const runs = await store.approvalRuns(s.id);
      // Unused only when both the runner's own count and the store say no step started.
      const used =
        late ||
        end.live?.stepStarted !== false ||
        runs.find((r) => r.runId === runId)?.used !== false;
      const counted = new Set([...this.claimed, ...runs.filter((r) => r.used).map((r) => r.runId)]);
      if (used) counted.add(runId);
      else counted.delete(runId);
      const runsLeft = Math.max(0, s.maxRuns - counted.size);
      const stored = end.stored;
      const { bytes, events } = await verifiedJournal(store, runId, stored);
      const run = digestJournal(events);
      const evidence = evidenceBundle(run, ['evidence']);
      const files = [`${runId}.journal.jsonl`, ...(evidence ? [`${runId}.evidence.txt`] : [])];
      const post = run.steps.filter((x) => x.phase === 'postchecks');
      const passed = post.filter((x) => x.status === 'ok').length;
      const {
        reached: _r,
        endReportedBy: _e,
        ...claim
      } = this.own ?? {
        runId,
        approvalId: s.id,
        by: '',
        startedAt: this.now.toISOString(),
      };
      const record: TicketRunRecord = {
        ...claim,
        status: run.status,
        journalHead: run.journal.head,
        journalEvents: run.journal.count,
        postchecks: { passed, failed: post.length - passed },
        endReportedBy: late ? 'ticket report' : 'runner',
        ...(used ? {} : { reached: false }),
      };
      const isStanding = 'selector' in s.targets;
      const staysInProgress = isStanding || !used || (run.status !== 'ok' && runsLeft > 0);
      const summary = lateSummary(summarizeRun(run, files), late ? s.ticket : undefined);
      const why = isStanding
        ? standingNote(s, runsLeft)
        : whyInProgress(run, { used, runsLeft, staysInProgress });
      const writes: QueuedWrite[] = [
        {
          write: {
            kind: 'comment',
            body: why ? { blocks: [...summary.blocks, ...textDoc(why).blocks] } : summary,
          },
        },
        {
          write: { kind: 'attach', filename: files[0]!, contentType: 'application/x-ndjson' },
          bytes,
        },
        ...(evidence
          ? [
              {
                write: { kind: 'attach' as const, filename: files[1]!, contentType: 'text/plain' },
                bytes: evidence,
              },
            ]
          : []),
        ...(await reportWrites(events)),
        {
          write: { kind: 'setProperty', property: `${RUN_PROPERTY_PREFIX}${runId}`, value: record },
        },
      ];
      if (!staysInProgress) {
        const { tracker } = this.options.services;
        writes.push({ write: { kind: 'transition', status: tracker.statuses.review } });
        // Hand-over: the reviewing senior is told (mentioned) and given the ticket.
        const h = this.handover;
        if (h)
          writes.push(
            {
              write: {
                kind: 'comment',
                body: { blocks: handoverBlocks(s.ticket, h.reviewer, h.approvers, tracker) },
              },
            },
            ...assignTo(accountOf(h.reviewer, tracker)),
          );
      }
      const report = await deliverWrites(this.options.services, s.ticket, writes, {
        aroundDamage: true,
      });
      // Nothing went out past a damaged entry: the ticket shows what it showed before the run.
      if (report.blockedBy && this.statusBefore !== undefined)
        return { ...report, shownStatus: this.statusBefore };
      return staysInProgress
        ? report
        : { ...report, movedTo: this.options.services.tracker.statuses.review };
    } catch (e) {
      this.endRefusal = e;
      return {
        ticket: s.ticket,
        delivered: 0,
        pending: [],
        failed: [],
        error: refusalText(e),
      };
    }
  }

  /**
   * Why `finish` could not even queue the run's end (a full disk refused the outbox), for the
   * runner to report as it reports a journal the disk refused; undefined when it was queued.
   */
  get endError(): unknown {
    return this.endRefusal;
  }

  /**
   * Takes up a run claimed earlier whose end never reached the ticket (its runner was killed
   * between the run's end and its report): `finish` then reports it as the run would have.
   */
  resume(statement: ApprovalStatement, claim: TicketRunRecord): void {
    checkTrackerBinding(statement, this.options.services.tracker);
    this.statement = statement;
    this.own = claim;
    this.claimed = new Set([claim.runId]);
  }

  private required(): ApprovalStatement {
    if (!this.statement) throw new Error('TicketGate.check must pass before the run starts');
    return this.statement;
  }
}

/**
 * The summary of a run whose end is reported late (`key` given): its heading says so, and the
 * note on why not to trust it comes right under it, before the results it qualifies.
 */
function lateSummary(summary: Doc, key: string | undefined): Doc {
  if (key === undefined) return summary;
  const [heading, ...rest] = summary.blocks;
  const marked =
    heading?.type === 'heading'
      ? [{ ...heading, text: `${heading.text} (end reported late)` }]
      : heading
        ? [heading]
        : [];
  return { blocks: [...marked, ...textDoc(lateReportNote(key)).blocks, ...rest] };
}

/**
 * What the summary of a late-reported run says: the ticket did not hear its end from its runner,
 * and why a senior must not take the journal's word for it.
 */
function lateReportNote(key: string): string {
  return `This run's end was reported afterwards (opsbook ticket report), not by its runner as it ran: its runner stopped before it told ${key}, and the end, journal and post-checks above were read later from the journal in the state store of the machine that ran it, which that machine's user can edit (the journal's hash chain has no key: an edited journal written out whole still verifies). The run counts against the approval. opsbook ticket accept refuses it until a senior has checked the hosts themselves and accepts with --accept-late-report; or reject it (opsbook ticket reject ${key}).`;
}

/** A routine run's line on its recurring ticket: why it stays In Progress, and for how long. */
function standingNote(s: ApprovalStatement, runsLeft: number): string {
  return `A routine run under the standing approval ${s.id}: ${s.ticket} stays In Progress for the next run (${runsLeft} run(s) left, valid until ${s.expiresAt}).`;
}

/** What the end-of-run comment says about the ticket staying In Progress, and what to do. */
function whyInProgress(
  run: { runId: string; ticket: string },
  facts: { used: boolean; runsLeft: number; staysInProgress: boolean },
): string | undefined {
  const left = `${facts.runsLeft} run(s) of the approval left`;
  if (!facts.used)
    return `No host was reached (no step started), so this run did not use the approval (${left}). The ticket stays In Progress: run it again once the hosts can be reached.`;
  if (!facts.staysInProgress) return undefined;
  return `Not every host ended ok, and the approval allows more runs (${left}). The ticket stays In Progress: retry the hosts that did not end ok with opsbook ticket run ${run.ticket} --retry-failed ${run.runId} (or opsbook run APPROVAL --retry-failed ${run.runId}); the run that ends ok, or uses the last run, moves it to In Review.`;
}

/** A run's journal bytes and verified events: the given view of it, or read and verified now. */
async function verifiedJournal(
  store: StateStore,
  runId: string,
  run: RunRecordView | undefined,
): Promise<{ bytes: Buffer; events: JournalLine[] }> {
  if (run?.runId === runId) return { bytes: run.bytes, events: run.verification.events };
  const bytes = await store.readJournal(runId);
  if (!bytes) throw new Error(`the journal of run ${runId} is missing from ${store.location}`);
  return { bytes, events: verifyJournalBytes(bytes).events };
}

/**
 * Reports a run produced (`health.report` steps): their Markdown as a comment, their files
 * attached. Read from the verified journal and the files the step recorded, never from memory.
 * A file is attached only when it is one the run wrote: in a `reports/<runId>/` folder, owned
 * by this user, not a link (`readOwnFile`). The journal and the state dir may be the engineer's,
 * rewritten, while a team runner's account reports the run: a path naming that account's SSH key,
 * or a report linked to it, is named on the ticket instead of attached.
 */
async function reportWrites(events: readonly JournalLine[]): Promise<QueuedWrite[]> {
  const writes: QueuedWrite[] = [];
  const runId = String(events.find((e) => e.type === 'run-start')?.runId ?? '');
  for (const e of events) {
    if (e.type !== 'step-end' || e.uses !== 'health.report' || e.status !== 'ok') continue;
    const result = e.result as { markdown?: string; files?: string[] } | null;
    // Markdown of blank lines is no comment: Jira refuses an empty one (400).
    const summary = textDoc(result?.markdown ?? '');
    if (hasText(summary)) writes.push({ write: { kind: 'comment', body: summary } });
    for (const file of result?.files ?? []) {
      const read = await readOwnFile(file, ['reports', runId, path.basename(file)]).catch(
        () => undefined,
      );
      if (!read) continue;
      if ('refused' in read) {
        const note = `opsbook did not attach ${file}, which the run's journal names as a report: ${read.refused}. The state dir was changed after the run; check the hosts and the journal.`;
        writes.push({ write: { kind: 'comment', body: textDoc(note) } });
        continue;
      }
      const contentType = file.endsWith('.html')
        ? 'text/html'
        : file.endsWith('.json')
          ? 'application/json'
          : 'text/markdown';
      writes.push({
        write: { kind: 'attach', filename: path.basename(file), contentType },
        bytes: read.bytes,
      });
    }
  }
  return writes;
}
