import type { RunOutcome } from '@opsbook/runner';

/**
 * The next step after a run Ctrl-C (or SIGTERM) stopped: which hosts did not end ok, where the
 * ticket is and what its comment says, and who decides how to go on (whether the approval has a
 * run left for them is said on the line before, approvalUseText). A finished run's
 * hint (a senior checks the run and closes the ticket) would send the senior to close work that
 * was left half done.
 */
export function interruptedRunNextText(
  outcome: Pick<RunOutcome, 'runId' | 'status' | 'result' | 'ticket'>,
): string | undefined {
  if (outcome.status !== 'interrupted') return undefined;
  const { runId } = outcome;
  const all = outcome.result.hosts;
  const left = all.filter((h) => h.status !== 'ok');
  const named = left
    .slice(0, 5)
    .map((h) => `${h.host} ${h.status}`)
    .join(', ');
  const more = left.length > 5 ? ` and ${left.length - 5} more` : '';
  const what = left.length
    ? `${left.length} of ${all.length} host(s) did not end ok (${named}${more}): check them (opsbook runs show ${runId} says what each one ran and where it stopped)`
    : `every host had ended ok (opsbook runs show ${runId})`;
  const end = outcome.ticket?.end;
  const isDelivered = end && end.pending.length === 0 && end.failed.length === 0 && !end.error;
  const ticket = !end
    ? ''
    : !isDelivered
      ? `; ${end.ticket} is not told all of it yet (above)`
      : end.movedTo
        ? `; ${end.ticket} is ${end.movedTo}, its comment saying the run was interrupted and how each host ended: a senior who did not sign it decides whether what ran is enough (opsbook ticket accept ${end.ticket}) or sends it back for what is left (opsbook ticket reject ${end.ticket} --reason …)`
        : `; ${end.ticket} stays where it was, its comment saying the run was interrupted and how each host ended`;
  return `next: run ${runId} was interrupted: ${what}${ticket}`;
}
