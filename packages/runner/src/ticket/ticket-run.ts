import { writeFileAtomic } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { APPROVAL_FILE } from '../approval/approval-flow.js';
import type { DistributedRunRequest } from '../distribute/submit.js';
import { runDistributed } from '../distribute/submit.js';
import { type RunOutcome, type RunRequest, runApproved } from '../execute/run.js';
import { TicketGate } from './run-ticket.js';
import { ticketFile } from './ticket-approve.js';
import { readTicketApproval } from './ticket-record.js';
import type { TicketServices } from './ticket-tracker.js';

export interface RunTicketRequest extends Omit<RunRequest, 'approvalFile' | 'ticket'> {
  services: TicketServices;
  key: string;
  /** Run the hosts on the workers of their zone (`ticket run --distribute`), not here. */
  distribute?: Pick<DistributedRunRequest, 'shardSize' | 'onShard'>;
}

/**
 * `opsbook ticket run KEY`: fetch the signed approval from the ticket and run it like
 * `opsbook run`, with the ticket checked first (it must be this approval's ticket, Approved or
 * In Progress) and told everything at the end. The approval is verified as always: where it
 * came from grants nothing.
 */
export async function runTicket(req: RunTicketRequest): Promise<RunOutcome> {
  const { services, key, distribute, ...run } = req;
  const approval = await readTicketApproval(services.tracker, key);
  const file = await ticketFile(req.config, key, `${approval.approvalId}.approval.json`);
  await writeFileAtomic(file, approval.envelope, APPROVAL_FILE);
  const gate = new TicketGate({
    services,
    store: stateStoreOf(req.config),
    expectedTicket: key,
    signal: req.signal,
  });
  const request = { ...run, approvalFile: file, ticket: gate };
  return distribute ? runDistributed({ ...request, ...distribute }) : runApproved(request);
}
