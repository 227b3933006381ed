import { readFile } from 'node:fs/promises';
import { loadTrustedStore } from '@opsbook/approval';
import { type Config, UsageError } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import type { OutboxEntry } from '@opsbook/tracker';
import { runnerErrors } from '../error-codes.js';
import { runEndsIn } from './outbox-waiting.js';
import {
  checkTrackerBinding,
  readTicketRuns,
  TicketGate,
  type TicketReport,
} from './run-ticket.js';
import { approvalOf } from './ticket-accept.js';
import { readTicketApproval } from './ticket-record.js';
import type { TicketServices } from './ticket-tracker.js';

export interface ReportRunsRequest {
  services: TicketServices;
  config: Config;
  key: string;
  /** One run (its id or a unique prefix); default every run of the ticket with no reported end. */
  runId?: string;
  /**
   * The approval file the run ran (`opsbook run FILE`), for a ticket that carries none (no
   * `ticket approve` on it); default the ticket's own approval.
   */
  approvalFile?: string;
  signal?: AbortSignal;
}

export interface ReportedRuns {
  /**
   * The writes to the ticket that waited in this machine's outbox, sent first: how many were
   * delivered, and how many still wait (the tracker did not take them, or refused them).
   */
  outbox: { delivered: number; waiting: number };
  reported: { runId: string; report: TicketReport }[];
  /** Runs with no reported end that this machine cannot report, and why. */
  left: { runId: string; why: string }[];
}

/**
 * `opsbook ticket report KEY [RUN]`: the end of a run that ended (its journal holds its
 * run-end, in this machine's state store) but whose ticket was never told, because its runner
 * was killed between the two: the summary, the journal and evidence, the run's record and the
 * move to In Review. Not as the run itself would have written them: this machine's user can edit
 * the journal and ledger it reads, so the run always counts against the approval (a journal
 * saying no host was reached frees no run) and the ticket marks its end as reported late, which
 * `ticket accept` refuses unless the senior accepts it explicitly. A run with no end in its
 * journal (its runner died mid-run) is left: its hosts' state is unknown, and a senior decides
 * (`ticket reject`, which works at In Progress).
 *
 * The ticket's writes waiting in this machine's outbox go first, in order: a run whose end the
 * tracker refused at the time has its report there already, and only once they are delivered
 * does the ticket say which runs are still unreported. A run whose end still waits there (the
 * tracker still does not take it) is left, never written a second time.
 */
export async function reportRuns(req: ReportRunsRequest): Promise<ReportedRuns> {
  const { services, config, key } = req;
  const { tracker } = services;
  const flushed = await services.outbox.flush({
    ticket: key,
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const stillWaiting = [...flushed.pending, ...flushed.failed];
  const endsWaiting = new Set(runEndsIn(stillWaiting));
  const envelope = req.approvalFile
    ? await readFile(req.approvalFile, 'utf8').catch((e: unknown) => {
        throw new UsageError(
          `cannot read the approval file ${req.approvalFile}: ${(e as Error).message}`,
        );
      })
    : (await readTicketApproval(tracker, key)).envelope;
  const { store: trust } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  const { statement } = approvalOf(envelope, trust, key);
  if (statement.ticket !== key)
    throw new runnerErrors.RefusalError(
      'TICKET_MISMATCH',
      `the approval is for ${statement.ticket}, not ${key}: report its runs on ${statement.ticket}`,
      { ticket: key },
    );
  // The late report posts the run's summary as the run would have: where the approval binds it,
  // restricted to the same readers (a --config without tracker.jira.commentVisibility would post
  // it for everyone who can see the ticket).
  checkTrackerBinding(statement, tracker);
  const unreported = (await readTicketRuns(tracker, key)).filter(
    (r) => r.status === undefined && r.approvalId === statement.id,
  );
  const wanted = req.runId
    ? unreported.filter((r) => r.runId === req.runId || r.runId.startsWith(req.runId!))
    : unreported;
  if (req.runId && wanted.length !== 1)
    throw new runnerErrors.RefusalError(
      'RUN_MISSING',
      wanted.length
        ? `${req.runId} names ${wanted.length} runs of ${key} with no reported end (${wanted.map((r) => r.runId).join(', ')}): give more of the id`
        : `${key} records no run ${req.runId} of its approval with no reported end: opsbook ticket show ${key} lists its runs`,
      { ticket: key },
    );
  const store = stateStoreOf(config);
  const result: ReportedRuns = {
    outbox: { delivered: flushed.delivered.length, waiting: stillWaiting.length },
    reported: [],
    left: [],
  };
  for (const claim of wanted) {
    if (endsWaiting.has(claim.runId)) {
      result.left.push({ runId: claim.runId, why: endWaitingWhy(stillWaiting) });
      continue;
    }
    const view = await store.readRun(claim.runId, { exact: true }).catch(() => undefined);
    if (!view) {
      result.left.push({
        runId: claim.runId,
        why: `its journal is not in this state store (${store.location}): report it on the machine that ran it (by ${claim.by})`,
      });
      continue;
    }
    if (!view.verification.ok) {
      result.left.push({
        runId: claim.runId,
        why: 'its journal does not verify (opsbook journal verify)',
      });
      continue;
    }
    // Created but never written to: the runner stopped (a full disk, a kill) before run-start.
    if (view.verification.events.length === 0) {
      result.left.push({
        runId: claim.runId,
        why: `its journal has no events: its runner stopped before it journaled the run's start (opsbook runs show ${claim.runId}); a senior can send ${key} back with opsbook ticket reject ${key}`,
      });
      continue;
    }
    // The journal must be the claimed run's: this approval, this ticket, this executor.
    const start = view.verification.events[0] as
      | { type?: string; ticket?: string; executor?: string; approval?: { id?: string } }
      | undefined;
    if (
      start?.type !== 'run-start' ||
      start.approval?.id !== statement.id ||
      start.ticket !== key ||
      start.executor !== claim.by
    ) {
      result.left.push({
        runId: claim.runId,
        why: `its journal in ${store.location} is not the run ${key} claimed (another approval, ticket or executor than ${claim.by}'s claim of ${statement.id})`,
      });
      continue;
    }
    if (view.verification.status !== 'complete') {
      result.left.push({
        runId: claim.runId,
        why: `its journal has no end: its runner stopped mid-run and its hosts' state is unknown (opsbook runs show ${claim.runId}); a senior can send ${key} back with opsbook ticket reject ${key}`,
      });
      continue;
    }
    const gate = new TicketGate({
      services,
      store,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    gate.resume(statement, claim);
    result.reported.push({
      runId: claim.runId,
      // A late report: no `live`, so the run counts and the ticket marks its end as late.
      report: await gate.finish(store, claim.runId, { stored: view }),
    });
  }
  return result;
}

/**
 * Why a run whose end waits in the outbox is not reported again: its report is written; and what
 * the tracker said of the write that holds the ticket's queue.
 */
function endWaitingWhy(waiting: readonly OutboxEntry[]): string {
  const first =
    waiting.find((e) => e.state === 'failed') ?? waiting.find((e) => e.lastError) ?? waiting[0];
  const said = first?.lastError ? ` (${first.lastError.message.replace(/\.$/, '')})` : '';
  return first?.state === 'failed'
    ? `its end is written and waits in this machine's outbox behind a write the tracker refused${said}: see opsbook outbox list, fix the cause, then opsbook outbox flush --retry-failed`
    : `its end is written and waits in this machine's outbox: the tracker did not take it${said}; opsbook outbox flush delivers it (or this command again) once the tracker takes writes`;
}
