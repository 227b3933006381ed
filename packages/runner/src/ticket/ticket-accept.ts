import type { AcceptanceStatement } from '@opsbook/approval';
import {
  APPROVAL_NAMESPACE,
  type Approver,
  checkProposal,
  createAcceptance,
  createAcceptanceEnvelope,
  type Envelope,
  loadTrustedStore,
  parseStatement,
  readEnvelope,
  type SshSigner,
  serializeEnvelope,
  signEnvelope,
  type TrustStore,
  verifyAcceptance,
  verifyRunClaim,
  verifySshsig,
} from '@opsbook/approval';
import type { Config } from '@opsbook/schema';
import { stateStoreOf, verifyJournal, verifyStoredJournal } from '@opsbook/state';
import type { StatusNames } from '@opsbook/tracker';
import { type RunnerErrorCode, runnerErrors } from '../error-codes.js';
import { digestJournal } from './run-summary.js';
import { readTicketRuns, type TicketReport, type TicketRunRecord } from './run-ticket.js';
import { isPerson, seniorOf } from './ticket-approve.js';
import { accountOf } from './ticket-people.js';
import { ACCEPTANCE_PROPERTY, readTicketApproval, requireStatus } from './ticket-record.js';
import type { TicketServices } from './ticket-tracker.js';
import { assignTo, deliverWrites } from './ticket-writes.js';

export interface AcceptTicketRequest {
  services: TicketServices;
  config: Config;
  key: string;
  signer: SshSigner;
  /** The run's journal, when it is not in this machine's state dir (downloaded from the ticket). */
  journalFile?: string;
  /**
   * `--accept-late-report`: accept a run whose end its runner did not report (`ticket report`
   * wrote it later, from a journal the runner machine's user can edit), once the senior has
   * checked the hosts themselves; recorded in the signed acceptance.
   */
  acceptLateReport?: boolean;
  now?: Date;
}

/** The signed approval's statement and its verified signers (never the ticket's say-so). */
export function approvalOf(envelopeText: string, store: TrustStore, key: string) {
  const refuse = (why: string) =>
    new runnerErrors.RefusalError(
      'APPROVAL_INVALID',
      `the approval on ${key} ${why}: ask a senior to approve again`,
      { ticket: key },
    );
  const { parsed } = readEnvelope(envelopeText, { file: `${key} approval` });
  if (!parsed) throw refuse('is malformed');
  const { statement } = parseStatement(parsed.payload);
  if (!statement) throw refuse('holds no valid statement');
  const approvers: Approver[] = [];
  for (const sig of parsed.envelope.signatures) {
    const check = verifySshsig(sig.sshsig, parsed.payload, APPROVAL_NAMESPACE);
    const approver = store.keys.get(sig.keyid)?.approver;
    if (!check.ok || check.sig.publicKey.fingerprint !== sig.keyid || !approver)
      throw refuse(`has a signature by ${sig.keyid} that does not verify against the trust store`);
    if (!approvers.some((a) => a.id === approver.id)) approvers.push(approver);
  }
  if (approvers.length === 0) throw refuse('is not signed');
  // The proposer the acceptance names is the one their own key proved, as for the run.
  const proposal = checkProposal(parsed.envelope, statement, store);
  if (!proposal.ok) throw refuse(`names no proven proposer (${proposal.message})`);
  return { statement, approvers };
}

async function verifiedRun(
  req: AcceptTicketRequest,
  run: TicketRunRecord,
  approvalId: string,
  store: TrustStore,
) {
  const { key } = req;
  const refuse = (code: RunnerErrorCode<'refused'>, why: string) =>
    new runnerErrors.RefusalError(code, `${key}: ${why}`, { ticket: key });
  const expectation = {
    ...(run.journalHead ? { expectedHead: run.journalHead } : {}),
    ...(run.journalEvents ? { expectedCount: run.journalEvents } : {}),
  };
  const runs = stateStoreOf(req.config);
  const file = req.journalFile ?? runs.journalLocation(run.runId);
  const journal = req.journalFile
    ? await verifyJournal(req.journalFile, expectation)
    : await verifyStoredJournal(runs, run.runId, expectation);
  if (!journal.ok || journal.status !== 'complete')
    throw refuse(
      'JOURNAL_INVALID',
      `the journal ${file} of run ${run.runId} does not verify (${journal.problems.map((p) => p.message).join('; ') || journal.status}): do not accept; investigate with opsbook journal verify`,
    );
  const digest = digestJournal(journal.events);
  const start = journal.events[0] as
    | { approval?: { id?: string }; ticket?: string; runClaim?: Envelope }
    | undefined;
  if (start?.ticket !== key || start.approval?.id !== approvalId)
    throw refuse(
      'JOURNAL_MISMATCH',
      `the journal ${file} is of another ticket or approval: give the journal attached to ${key} (--journal FILE)`,
    );
  if (digest.status !== 'ok')
    throw refuse(
      'RUN_NOT_OK',
      `run ${run.runId} ended "${digest.status}": reject the result, or have the engineer run again after a new approval`,
    );
  const post = digest.steps.filter((s) => s.phase === 'postchecks');
  const failed = post.filter((s) => s.status !== 'ok');
  if (failed.length)
    throw refuse(
      'POSTCHECKS_FAILED',
      `post-checks failed (${failed.map((s) => `${s.host} ${s.step}`).join(', ')}): do not accept`,
    );
  // Who ran is what the executor's key signed, checked against this machine's trust store.
  const claim = start.runClaim
    ? verifyRunClaim(start.runClaim, store, { approvalId, runId: run.runId })
    : undefined;
  if (!claim?.ok)
    throw refuse(
      'EXECUTOR_UNPROVEN',
      `the run ${run.runId} carries no valid run claim of its executor (${claim?.message ?? 'none recorded'}): do not accept; the run was not made by a listed person`,
    );
  return { digest, passed: post.length, executor: claim.executor };
}

/**
 * Who reported a run's end, when it was not its own runner as the run ended: `ticket report`
 * (late, from the state store), or `unknown` (a record of an earlier opsbook, which did not say).
 */
function lateReportOf(run: TicketRunRecord): 'ticket report' | 'unknown' | undefined {
  if (run.endReportedBy === 'runner') return undefined;
  return run.endReportedBy === 'ticket report' ? 'ticket report' : 'unknown';
}

/**
 * The refusal of a run whose end the ticket did not hear from its runner: its journal came from
 * the runner machine's state store later, and that machine's user can rewrite it whole (the hash
 * chain has no key), so an intact chain and passed post-checks prove nothing of the hosts.
 */
function lateReportRefusal(
  key: string,
  run: TicketRunRecord,
  late: 'ticket report' | 'unknown',
  digest: { hosts: { host: string }[] },
) {
  const who =
    late === 'ticket report'
      ? `was reported afterwards by opsbook ticket report (its runner stopped before it told ${key}), from the journal in the state store of the machine that ran it`
      : `was recorded by an earlier opsbook that does not say whether its runner reported it as it ran or opsbook ticket report did afterwards, from the journal in the state store of the machine that ran it`;
  const hosts = digest.hosts.map((h) => h.host);
  const shown = hosts.length > 5 ? `${hosts.slice(0, 5).join(', ')}, …` : hosts.join(', ');
  return new runnerErrors.RefusalError(
    'RUN_REPORTED_LATE',
    `${key}: the end of run ${run.runId} ${who}. That machine's user can edit that journal (its hash chain has no key: a journal written out whole still verifies), so its post-checks are not proof. Check the hosts yourself (${shown || 'none listed'}); if they are as the run says, accept with opsbook ticket accept ${key} --accept-late-report (the signed acceptance records it); otherwise reject: opsbook ticket reject ${key} --reason …`,
    { ticket: key },
  );
}

/** What comes before an acceptance, from where the ticket is: a Done ticket has had its own. */
function acceptHint(key: string, status: string, names: StatusNames): string {
  const is = (name: string) => name.toLowerCase() === status.toLowerCase();
  if (is(names.done))
    return `its work is closed, so there is nothing left to accept (opsbook ticket show ${key} shows its history); further work needs a new ticket (opsbook ticket open)`;
  if (is(names.open))
    return `a ticket is accepted once its approved plan has run: propose it (opsbook ticket propose ${key}), have a senior approve it (opsbook ticket approve ${key}), run it (opsbook ticket run ${key})`;
  if (is(names.awaitingApproval))
    return `its plan is proposed and waits for a senior: once a senior approves it (opsbook ticket approve ${key}), run it (opsbook ticket run ${key}); it is accepted after the run`;
  return `a ticket is accepted when its run is "${names.review}" (opsbook ticket run ${key})`;
}

/**
 * `opsbook ticket accept`: a senior re-verifies the last run's journal (hash chain, the head and
 * count recorded on the ticket) and its post-checks, signs an Acceptance (same envelope,
 * namespace opsbook-acceptance), attaches it and closes the ticket. Proposer, approvers and
 * verifier must be three different people.
 */
export async function acceptTicket(
  req: AcceptTicketRequest,
): Promise<{ acceptance: AcceptanceStatement; report: TicketReport }> {
  const { services, key, config } = req;
  const { tracker } = services;
  await requireStatus(tracker, key, [tracker.statuses.review], (status) =>
    acceptHint(key, status, tracker.statuses),
  );
  const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  const verifier = seniorOf(store, req.signer);
  const ticketApproval = await readTicketApproval(tracker, key);
  const { statement, approvers } = approvalOf(ticketApproval.envelope, store, key);
  const runs = await readTicketRuns(tracker, key);
  const run = [...runs].reverse().find((r) => r.approvalId === statement.id && r.status);
  if (!run)
    throw new runnerErrors.RefusalError(
      'RUN_MISSING',
      `${key} records no finished run of its approval: run it first (opsbook ticket run ${key})`,
      { ticket: key },
    );
  const proposer = statement.proposer ?? '';
  if (
    isPerson(verifier, proposer) ||
    approvers.some((a) => a.id === verifier.id || isPerson(a, proposer))
  )
    throw new runnerErrors.RefusalError(
      'SEPARATION_OF_DUTIES',
      `proposer (${proposer}), approver (${approvers.map((a) => a.id).join(', ')}) and verifier (${verifier.id}) of ${key} must be three different people: ask another senior to verify and accept`,
      { ticket: key },
    );
  const { digest, passed, executor } = await verifiedRun(req, run, statement.id, store);
  if (verifier.id === executor.id || req.signer.publicKey.fingerprint === executor.fingerprint)
    throw new runnerErrors.RefusalError(
      'SEPARATION_OF_DUTIES',
      `${verifier.id} ran ${key} (run claim signed with ${executor.fingerprint}) and cannot also verify it: ask another senior to accept`,
      { ticket: key },
    );
  const late = lateReportOf(run);
  if (late && !req.acceptLateReport) throw lateReportRefusal(key, run, late, digest);
  const acceptance = createAcceptance({
    ticket: key,
    approvalId: statement.id,
    run: {
      id: run.runId,
      journalHead: digest.journal.head,
      journalEvents: digest.journal.count,
      ...(late ? { endReportedBy: late } : {}),
    },
    postchecksPassed: passed,
    proposer,
    approvers: approvers.map((a) => a.id),
    verifier: verifier.id,
    ...(req.now ? { now: req.now } : {}),
  });
  const envelope = await signEnvelope(createAcceptanceEnvelope(acceptance), req.signer);
  const text = serializeEnvelope(envelope);
  verifyAcceptance(text, store, `${key} acceptance`);
  const lateText = late
    ? ` Its end was not reported by its runner (${late === 'ticket report' ? "opsbook ticket report wrote it afterwards from the runner machine's journal" : 'the ticket does not say who reported it'}): accepted with --accept-late-report, the verifier having checked the hosts.`
    : '';
  const comment = `Accepted by ${verifier.name} (${req.signer.publicKey.fingerprint}): journal of run ${run.runId} verified (${digest.journal.count} events, head ${digest.journal.head}), ${passed} post-check(s) passed.${lateText} Proposed by ${proposer}, approved by ${approvers.map((a) => a.id).join(', ')}, run by ${executor.id} (${executor.fingerprint}).`;
  const report = await deliverWrites(services, key, [
    {
      write: {
        kind: 'attach',
        filename: `${key}.${acceptance.id}.acceptance.json`,
        contentType: 'application/json',
      },
      bytes: new TextEncoder().encode(text),
    },
    {
      write: {
        kind: 'setProperty',
        property: ACCEPTANCE_PROPERTY,
        value: { id: acceptance.id, verifier: verifier.id, envelope: text },
      },
    },
    {
      write: {
        kind: 'comment',
        body: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: comment }] }] },
      },
    },
    { write: { kind: 'transition', status: tracker.statuses.done } },
    // Done, it is the verifier's: the ticket shows who accepted the work, whoever reviewed it.
    ...assignTo(accountOf(verifier, tracker)),
  ]);
  return { acceptance, report };
}
