import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApprovalStatement } from '@opsbook/approval';
import { type Finding, sortFindings } from '@opsbook/inspection';
import {
  computeFleetStatistics,
  type FleetStatistics,
  type HostFacts,
  type Inventory,
} from '@opsbook/inventory';
import { type Config, ValidationError } from '@opsbook/schema';
import { stateStoreOf, verifyStoredJournal } from '@opsbook/state';
import { type ApprovalFile, readApprovalFile } from '../approval/approval-flow.js';
import { runnerErrors } from '../error-codes.js';
import { loadRunInventory } from '../plan/targets.js';
import { type RunOutcome, type RunRequest, runApproved } from './run.js';

export interface RoutineRunRequest extends Omit<RunRequest, 'approvalFile' | 'approvalBytes'> {
  /** The routine runbook (`daily-inspection`, `resource-inventory`). */
  runbook: string;
  /** Must equal the standing approval's selector when given: a signature covers what it names. */
  target?: string;
}

export interface RoutineRun {
  outcome: RunOutcome;
  approvalFile: string;
  /** Every finding of the run's `inspection.*` steps, worst first. */
  findings: Finding[];
  /** The facts of the run's `inventory.collect` steps, one per host. */
  facts: HostFacts[];
}

/** How to get a standing approval, for the refusal message and the docs. */
export function standingSetupHint(runbook: string): string {
  const file = `approvals/${runbook}.approval.json`;
  return `on a recurring ticket (opsbook ticket open --summary "Routine: ${runbook}"), propose one with "opsbook ticket propose KEY --runbook ${runbook} --standing --target all --expires 90d --max-runs 1000 --senior ID", have a senior approve it with "opsbook ticket approve KEY", save it with "opsbook ticket approval KEY -o ${file}", and add "standing: {${runbook}: ${file}}" to opsbook.yaml (see docs/routine-work.md)`;
}

/** The configured standing approval file of a routine runbook, or a refusal (exit 3) that says how to create one. */
export function requireStandingApproval(config: RunRequest['config'], runbook: string): string {
  const file = config.raw.standing?.[runbook];
  if (!file)
    throw new runnerErrors.RefusalError(
      'STANDING_APPROVAL_MISSING',
      `opsbook.yaml names no standing approval for ${runbook}: ${standingSetupHint(runbook)}`,
    );
  return path.resolve(config.root, file);
}

/**
 * Read the standing approval `file` that opsbook.yaml's `standing:` names for `runbook`. A file
 * that cannot be read is most often a typo in that entry (or the approval not saved yet), so the
 * error is at its line of opsbook.yaml, with both fixes, rather than at a path the user never
 * typed on the command line.
 */
export async function readStandingApproval(
  config: Config,
  runbook: string,
  file: string,
): Promise<ApprovalFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const named = config.raw.standing?.[runbook] ?? file;
    const at = config.locate?.(['standing', runbook]) ?? {
      file: config.file ?? 'opsbook.yaml',
      line: 0,
      col: 0,
    };
    throw ValidationError.single(
      at.file,
      `standing.${runbook} names ${named}, which cannot be read (${(e as NodeJS.ErrnoException).code}): fix the path here, or save the standing approval there (opsbook ticket approval KEY -o ${named})`,
      'missing-file',
      at.line,
      at.col,
    );
  }
  return readApprovalFile(file, bytes);
}

/**
 * What a routine run of `runbook` (inspect, inventory, a schedule's slot, the evidence of ticket
 * open) needs of the approval its `standing:` entry names, before it is verified: a standing
 * selector, for that runbook (an entry holding another runbook's approval would run that one
 * under this one's name), and `target`, when given, its selector.
 */
export function refuseUnlessStandingFor(
  approvalFile: string,
  statement: ApprovalStatement,
  runbook: string,
  target: string | undefined,
): asserts statement is ApprovalStatement & { targets: { selector: string } } {
  if (!('selector' in statement.targets))
    throw new runnerErrors.RefusalError(
      'NOT_STANDING',
      `${approvalFile} approves an explicit host list, not a standing selector: ${standingSetupHint(runbook)}`,
    );
  if (statement.runbook.name !== runbook)
    throw new runnerErrors.RefusalError(
      'RUNBOOK_MISMATCH',
      `${approvalFile} approves ${statement.runbook.name}, not ${runbook}: fix the standing: entry in opsbook.yaml`,
    );
  if (target !== undefined && target !== statement.targets.selector)
    throw new runnerErrors.RefusalError(
      'TARGETS_OUTSIDE_SCOPE',
      `the standing approval for ${runbook} covers "${statement.targets.selector}", not "${target}": omit --target, or ask a senior for a standing approval with that selector`,
    );
}

/**
 * `opsbook inspect` / `opsbook inventory`: run a routine runbook under its standing approval
 * (verified like any approval: signature, digest, expiry, selector) and read the findings and
 * facts back from the run's hash-checked journal, the same record the health report reads.
 */
export async function runRoutine(req: RoutineRunRequest): Promise<RoutineRun> {
  const approvalFile = requireStandingApproval(req.config, req.runbook);
  // Read once: the run is of the bytes checked here (the file could give others when read again).
  const { statement, bytes } = await readStandingApproval(req.config, req.runbook, approvalFile);
  refuseUnlessStandingFor(approvalFile, statement, req.runbook, req.target);
  const { runbook: _r, target: _t, ...run } = req;
  const outcome = await runApproved({ ...run, approvalFile, approvalBytes: bytes });
  const { events } = await verifyStoredJournal(stateStoreOf(req.config), outcome.runId);
  const findings: Finding[] = [];
  const facts: HostFacts[] = [];
  for (const e of events as unknown as Record<string, unknown>[]) {
    if (e.type !== 'step-end' || typeof e.result !== 'object' || e.result === null) continue;
    const result = e.result as { findings?: Finding[]; facts?: HostFacts };
    if (Array.isArray(result.findings)) findings.push(...result.findings);
    if (result.facts) facts.push(result.facts);
  }
  return { outcome, approvalFile, findings: sortFindings(findings), facts };
}

/** Fleet statistics of a routine run's facts, grouped by the inventory's groups. */
export async function routineFleetStatistics(
  req: Pick<RunRequest, 'config' | 'inventoryFile'>,
  facts: readonly HostFacts[],
  top = 5,
): Promise<FleetStatistics> {
  const inventory = await loadRunInventory(req.config, req.inventoryFile);
  return computeFleetStatistics(facts, { groups: groupMembers(inventory), top });
}

/** Every group's hosts, including those of its child groups (bounded: each group expands once). */
export function groupMembers(inventory: Inventory): Record<string, string[]> {
  const byName = new Map(inventory.groups.map((g) => [g.name, g]));
  const out: Record<string, string[]> = {};
  for (const group of inventory.groups) {
    if (group.name === 'all' || group.name === 'ungrouped') continue;
    const hosts = new Set<string>();
    const seen = new Set<string>();
    const queue = [group.name];
    while (queue.length > 0 && seen.size <= byName.size) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const g = byName.get(name);
      for (const h of g?.hosts ?? []) hosts.add(h);
      queue.push(...(g?.children ?? []));
    }
    out[group.name] = [...hosts];
  }
  return out;
}
