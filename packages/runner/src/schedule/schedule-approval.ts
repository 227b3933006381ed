import { type Config, isOpsbookError } from '@opsbook/schema';
import { verifyApprovalFile } from '../approval/approval-flow.js';
import {
  readStandingApproval,
  refuseUnlessStandingFor,
  requireStandingApproval,
} from '../execute/routine-run.js';
import type { Schedule } from './schedules.js';

/**
 * Whether a schedule's standing approval verifies now as a slot would verify it, before its
 * ticket: `ok` with what it allows, or the refusal every slot would meet until it is fixed.
 */
export type ScheduleApproval =
  | { ok: true; ticket: string; selector: string; expiresAt: string }
  | { ok: false; code: string; message: string };

/**
 * The standing approval of `schedule` checked from this checkout and the trust pin (signature,
 * senior, digest, expiry, selector), never from the database: its rows are writable by anyone
 * with the team's credentials, so a slot recorded as run says nothing of whether a senior signed
 * what runs. The ticket (status, runs left) is left to the slot: it needs the tracker.
 */
export async function checkScheduleApproval(
  config: Config,
  schedule: Schedule,
  now: Date,
): Promise<ScheduleApproval> {
  try {
    const file = requireStandingApproval(config, schedule.runbook);
    // Read once: the bytes verified are the ones whose standing selector was checked.
    const { statement, bytes } = await readStandingApproval(config, schedule.runbook, file);
    refuseUnlessStandingFor(file, statement, schedule.runbook, schedule.target);
    await verifyApprovalFile(file, { config, approvalBytes: bytes, now });
    return {
      ok: true,
      ticket: statement.ticket,
      selector: statement.targets.selector,
      expiresAt: statement.expiresAt,
    };
  } catch (e) {
    if (!isOpsbookError(e)) throw e;
    return { ok: false, code: e.code, message: e.message.split('\n', 1)[0] ?? '' };
  }
}
