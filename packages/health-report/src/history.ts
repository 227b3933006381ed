import type { LeftOutRun } from '@opsbook/state';
import type { FindingStatus, JournalProblem } from './report-schema.js';

/**
 * What the report reads from the journal: the results of `uses:` steps, how each host's runs
 * ended, and which runs were in range. A plain-data shape, so the scoring core is pure and a
 * test can build a history by hand.
 */
export interface History {
  runs: RunRef[];
  inspections: InspectionSample[];
  facts: FactsSample[];
  outcomes: HostOutcome[];
  /** Files or lines that could not be read; reported, never fatal. */
  problems: JournalProblem[];
  /** Hosts with results in the range that a host filter left out (see `readHistory`). */
  leftOut?: string[];
  /** Runs whose journal does not verify: none of their results are in this history. */
  leftOutRuns?: LeftOutRun[];
}

export interface RunRef {
  runId: string;
  startedAt: string;
  runbook?: string;
  hosts: string[];
}

/**
 * A finding as `inspection.*` actions journal it (see @opsbook/inspection's findingSchema).
 * Read structurally, because the reader must survive journals written by other versions.
 */
export interface ReportedFinding {
  host: string;
  check: string;
  subject?: string;
  status: FindingStatus;
  value: number | string | boolean | null;
  threshold: number | null;
  unit?: string;
  message: string;
}

/** One `inspection.*` step-end: every finding it produced, at the event's time. */
export interface InspectionSample {
  at: string;
  runId: string;
  host: string;
  action: string;
  findings: ReportedFinding[];
}

/** The part of `inventory.collect` facts that headroom uses; everything is optional. */
export interface HostFacts {
  memory?: { totalBytes?: number; availableBytes?: number };
  filesystems?: Array<{ mount?: string; sizeBytes?: number; usedBytes?: number }>;
  [fact: string]: unknown;
}

export interface FactsSample {
  at: string;
  runId: string;
  host: string;
  facts: HostFacts;
}

/** A host-end event: `unreachable` means the host never answered in that run. */
export interface HostOutcome {
  at: string;
  runId: string;
  host: string;
  status: string;
}

export function emptyHistory(): History {
  return { runs: [], inspections: [], facts: [], outcomes: [], problems: [] };
}
