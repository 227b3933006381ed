import type { Envelope } from '@opsbook/approval';
import type { Connection } from '@opsbook/inventory';
import type { Phase } from '@opsbook/schema';

/**
 * What a run records, in order, in its journal (DESIGN §5) and what the CLI renders as progress.
 * Every event is durable (fsynced) before the runner starts the next step.
 */
export type RunEvent =
  | {
      type: 'run-start';
      runId: string;
      ticket: string;
      runbook: { name: string; version: string; digest: string };
      planDigest: string;
      approval: {
        id: string;
        sha256: string;
        signers: Array<{ approverId: string; fingerprint: string }>;
        runsUsed: number;
        maxRuns: number;
      };
      /** Who ran, as the trust store names the key that signed the run claim. */
      executor: string;
      executorKey: string;
      /** The executor's signed RunClaim envelope (namespace opsbook-run). */
      runClaim: Envelope;
      params: Record<string, unknown>;
      secretParams: string[];
      hosts: string[];
    }
  | { type: 'host-start'; host: string; connection: Connection }
  | { type: 'step-start'; host: string; phase: Phase; step: string; name: string }
  | {
      type: 'step-end';
      host: string;
      phase: Phase;
      step: string;
      status: string;
      exitCode?: number | null;
      signal?: string | null;
      durationMs: number;
      stdout?: string;
      stderr?: string;
      truncated?: boolean;
      reason?: string;
    }
  | {
      type: 'host-end';
      host: string;
      status: string;
      failedStep?: { phase: Phase; id: string };
      rolledBack: boolean;
      error?: string;
    }
  | {
      type: 'run-end';
      status: RunStatus;
      hosts: Record<string, string>;
      interrupted: boolean;
      stoppedByFailures: boolean;
    };

/** How a run ended: the `status` of its `run-end` event and of its ledger run-end record. */
export type RunStatus = 'ok' | 'failed' | 'unreachable' | 'interrupted';
export const runStatuses: readonly RunStatus[] = ['ok', 'failed', 'unreachable', 'interrupted'];
