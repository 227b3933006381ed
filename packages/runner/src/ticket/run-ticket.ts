import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApprovalStatement } from '@opsbook/approval';
import { isOpsbookError } from '@opsbook/schema';
import { type StateStore, verifyJournalBytes } from '@opsbook/state';
import { type OutboxEntry, textDoc } from '@opsbook/tracker';
import { runnerErrors } from '../error-codes.js';
import { digestJournal, evidenceBundle, summarizeRun } from './run-summary.js';
import type { TicketServices } from './ticket-tracker.js';
import { deliverWrites, type QueuedWrite } from './ticket-writes.js';

/** Issue property listing every run made on the ticket: how maxRuns holds across machines. */
export const RUNS_PROPERTY = 'opsbook.runs';

export interface TicketRunRecord {
  runId: string;
  approvalId: string;
  by: string;
  startedAt: string;
  status?: string;
  journalHead?: string;
  journalEvents?: number;
  postchecks?: { passed: number; failed: number };
}

/** What became of the end-of-run writes: delivered now, or kept in the outbox for later. */
export interface TicketReport {
  ticket: string;
  delivered: number;
  pending: OutboxEntry[];
  failed: OutboxEntry[];
  /** Set when the report could not even be queued (disk full…); the run itself still stands. */
  error?: string;
}

export interface TicketGateOptions {
  services: TicketServices;
  /** The runs this machine (or, with PostgreSQL, the team) has made. */
  store: StateStore;
  /** The ticket the user named (`opsbook ticket run KEY`); must be the approval's ticket. */
  expectedTicket?: string;
  now?: () => Date;
  signal?: AbortSignal;
}

/**
 * The run ↔ ticket contract (issue 5, item 2), called by runApproved at three points:
 * `check` before anything runs (the only step that needs the tracker to answer), `start` once
 * the run is claimed, `finish` when it ended. `start` and `finish` write through the outbox, so
 * a tracker outage never fails or loses a finished run.
 */
export class TicketGate {
  private runs: TicketRunRecord[] = [];
  private statement: ApprovalStatement | undefined;
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
    const signal = this.options.signal;
    const ticket = await tracker.get(key, signal ? { signal } : {}).catch((e: unknown) => {
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
    const { approved, inProgress } = tracker.statuses;
    const ok = [approved, inProgress].some((s) => s.toLowerCase() === ticket.status.toLowerCase());
    if (!ok)
      throw new runnerErrors.RefusalError(
        'TICKET_NOT_APPROVED',
        `${key} is "${ticket.status}", not "${approved}" or "${inProgress}": nothing was run; get the plan approved on the ticket first (opsbook ticket approve ${key})`,
        { ticket: key },
      );
    const recorded = await tracker.getProperty(key, RUNS_PROPERTY, signal ? { signal } : {});
    this.runs = Array.isArray(recorded) ? (recorded as TicketRunRecord[]) : [];
    this.statement = statement;
    // Runs seen by the tracker and by the state store's ledger, each counted once.
    const ids = new Set(this.runs.filter((r) => r.approvalId === statement.id).map((r) => r.runId));
    for (const r of await this.options.store.readLedger())
      if (r.type === 'run' && r.approvalId === statement.id) ids.add(r.runId);
    if (ids.size >= statement.maxRuns)
      throw new runnerErrors.RefusalError(
        'RUNS_EXHAUSTED',
        `this approval allowed ${statement.maxRuns} run(s) and ${key} records ${ids.size}: ask a senior for a new approval`,
        { ticket: key },
      );
  }

  /** Record the approval's use on the ticket and move it to In Progress (through the outbox). */
  async start(runId: string, by: string): Promise<TicketReport> {
    const s = this.required();
    this.runs = [...this.runs, { runId, approvalId: s.id, by, startedAt: this.now.toISOString() }];
    return deliverWrites(this.options.services, s.ticket, [
      { write: { kind: 'setProperty', property: RUNS_PROPERTY, value: this.runs } },
      { write: { kind: 'transition', status: this.options.services.tracker.statuses.inProgress } },
    ]);
  }

  /**
   * Summary comment, journal and evidence attachments, the run's record, and In Review (a
   * standing approval's recurring ticket stays In Progress). Never throws.
   */
  async finish(store: StateStore, runId: string): Promise<TicketReport> {
    const s = this.required();
    try {
      const bytes = await store.readJournal(runId);
      if (!bytes) throw new Error(`the journal of run ${runId} is missing from ${store.location}`);
      const run = digestJournal(verifyJournalBytes(bytes).events);
      const evidence = evidenceBundle(run, ['evidence']);
      const files = [`${runId}.journal.jsonl`, ...(evidence ? [`${runId}.evidence.txt`] : [])];
      const post = run.steps.filter((x) => x.phase === 'postchecks');
      const passed = post.filter((x) => x.status === 'ok').length;
      this.runs = this.runs.map((r) =>
        r.runId === runId
          ? {
              ...r,
              status: run.status,
              journalHead: run.journal.head,
              journalEvents: run.journal.count,
              postchecks: { passed, failed: post.length - passed },
            }
          : r,
      );
      const writes: QueuedWrite[] = [
        { write: { kind: 'comment', body: summarizeRun(run, files) } },
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
        ...(await reportWrites(bytes)),
        { write: { kind: 'setProperty', property: RUNS_PROPERTY, value: this.runs } },
      ];
      if (!('selector' in s.targets))
        writes.push({
          write: { kind: 'transition', status: this.options.services.tracker.statuses.review },
        });
      return await deliverWrites(this.options.services, s.ticket, writes);
    } catch (e) {
      return {
        ticket: s.ticket,
        delivered: 0,
        pending: [],
        failed: [],
        error: (e as Error).message,
      };
    }
  }

  private required(): ApprovalStatement {
    if (!this.statement) throw new Error('TicketGate.check must pass before the run starts');
    return this.statement;
  }
}

/**
 * Reports a run produced (`health.report` steps): their Markdown as a comment, their files
 * attached. Read from the verified journal and the files the step recorded, never from memory.
 */
async function reportWrites(journal: Buffer): Promise<QueuedWrite[]> {
  const writes: QueuedWrite[] = [];
  for (const e of verifyJournalBytes(journal).events) {
    if (e.type !== 'step-end' || e.uses !== 'health.report' || e.status !== 'ok') continue;
    const result = e.result as { markdown?: string; files?: string[] } | null;
    if (result?.markdown)
      writes.push({ write: { kind: 'comment', body: textDoc(result.markdown) } });
    for (const file of result?.files ?? []) {
      const bytes = await readFile(file).catch(() => undefined);
      if (!bytes) continue;
      const contentType = file.endsWith('.html')
        ? 'text/html'
        : file.endsWith('.json')
          ? 'application/json'
          : 'text/markdown';
      writes.push({ write: { kind: 'attach', filename: path.basename(file), contentType }, bytes });
    }
  }
  return writes;
}
