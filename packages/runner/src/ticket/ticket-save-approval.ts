import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApprovalStatement } from '@opsbook/approval';
import {
  type Config,
  createFileAtomic,
  isOpsbookError,
  makeDirectory,
  UsageError,
  writeFileAtomic,
} from '@opsbook/schema';
import type { Tracker } from '@opsbook/tracker';
import { APPROVAL_FILE, readApprovalFile } from '../approval/approval-flow.js';
import { runnerErrors } from '../error-codes.js';
import { readTicketApproval } from './ticket-record.js';

export interface SaveApprovalRequest {
  tracker: Tracker;
  config: Config;
  key: string;
  /**
   * Where to write it (relative to the current folder). Default: for a standing approval, the
   * file opsbook.yaml's `standing:` names for its runbook, else approvals/RUNBOOK.approval.json
   * beside opsbook.yaml; for any other, KEY.RUNBOOK.approval.json, as `opsbook plan` names it.
   */
  output?: string;
  /** Replace a file that holds another approval. */
  force?: boolean;
}

export interface SavedApproval {
  /** Absolute path of the file. */
  file: string;
  statement: ApprovalStatement;
  signers: string[];
  /** False when the file already held exactly this approval. */
  written: boolean;
  /** For a standing approval: its runbook and whether opsbook.yaml's `standing:` names this file. */
  standing?: { runbook: string; selector: string; configured: boolean };
}

/** The file opsbook.yaml's `standing:` names for a runbook, resolved beside opsbook.yaml. */
function configuredStandingFile(config: Config, runbook: string): string | undefined {
  const entry = config.raw.standing?.[runbook];
  return entry ? path.resolve(config.root, entry) : undefined;
}

function defaultFile(config: Config, key: string, statement: ApprovalStatement): string {
  const runbook = statement.runbook.name;
  if (!('selector' in statement.targets)) return path.resolve(`${key}.${runbook}.approval.json`);
  return (
    configuredStandingFile(config, runbook) ??
    path.resolve(config.root, 'approvals', `${runbook}.approval.json`)
  );
}

/** Writes `bytes` to `file` unless it holds something else (then only with `force`); false: it already held them. */
async function writeApproval(file: string, bytes: Buffer, force: boolean): Promise<boolean> {
  try {
    await makeDirectory(path.dirname(file));
    if (force) {
      await writeFileAtomic(file, bytes, APPROVAL_FILE);
      return true;
    }
    // Created only if absent (race-free), so a concurrent save never silently replaces another.
    if (await createFileAtomic(file, bytes, APPROVAL_FILE)) return true;
  } catch (e) {
    if (isOpsbookError(e)) throw e;
    throw new UsageError(
      `cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): choose a writable -o path`,
    );
  }
  const existing = await readFile(file).catch(() => undefined);
  if (existing?.equals(bytes)) return false;
  const held = existing
    ? await readApprovalFile(file, existing).then(
        (a) =>
          `approval ${a.statement.id} of ${a.statement.runbook.name} for ${a.statement.ticket}`,
        () => 'something that is not a valid approval',
      )
    : 'something unreadable';
  throw new UsageError(
    `${file} already holds ${held}: add --force to replace it (what runs under it then uses this one), or choose another -o`,
  );
}

/**
 * `opsbook ticket approval KEY`: write the complete signed approval a ticket carries to a file —
 * for a standing approval, where opsbook.yaml's `standing:` names it, so that `opsbook inspect`
 * and the other routine runs use it. Writing it is no trust decision: every run verifies the file
 * (signatures against the pinned trust store, digests, expiry, ticket) as any approval file.
 */
export async function saveTicketApproval(req: SaveApprovalRequest): Promise<SavedApproval> {
  const { tracker, config, key } = req;
  const approval = await readTicketApproval(tracker, key);
  if (!approval.complete)
    throw new runnerErrors.RefusalError(
      'APPROVAL_INCOMPLETE',
      `${key}'s approval is signed by ${approval.signers.join(', ') || 'nobody'} and needs more signatures: another senior signs with opsbook ticket approve ${key}, then save it`,
      { ticket: key },
    );
  const bytes = Buffer.from(approval.envelope, 'utf8');
  const { statement } = await readApprovalFile(`${key}'s approval`, bytes);
  if (statement.ticket !== key)
    throw new runnerErrors.RefusalError(
      'TICKET_MISMATCH',
      `the approval ${key} carries is for ${statement.ticket}: save it from ${statement.ticket}, or ask for an approval on ${key}`,
      { ticket: key },
    );
  const file = req.output ? path.resolve(req.output) : defaultFile(config, key, statement);
  const written = await writeApproval(file, bytes, req.force === true);
  const standing =
    'selector' in statement.targets
      ? {
          runbook: statement.runbook.name,
          selector: statement.targets.selector,
          configured: configuredStandingFile(config, statement.runbook.name) === file,
        }
      : undefined;
  return {
    file,
    statement,
    signers: approval.signers,
    written,
    ...(standing ? { standing } : {}),
  };
}
