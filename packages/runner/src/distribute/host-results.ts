import type { Phase } from '@opsbook/schema';
import type { HostResult, HostStatus, StepResult, StepStatus } from '../execute/execute.js';
import type { RunEvent } from '../execute/run-events.js';

/**
 * The hosts' results of a distributed run, read back from its journal: the submitter did not run
 * them itself, so the journal's host-end and step-end events are what it reports (the same
 * HostResult a local run returns). Hosts without a host-end are absent.
 */
export class HostResults {
  private readonly results = new Map<string, HostResult>();
  private readonly steps = new Map<string, StepResult[]>();

  /** Takes in one journal event; returns the host's result when the event ended a host. */
  add(event: RunEvent): HostResult | undefined {
    if (event.type === 'step-end') {
      const list = this.steps.get(event.host) ?? [];
      list.push({
        host: event.host,
        phase: event.phase as Phase,
        id: event.step,
        status: event.status as StepStatus,
        exitCode: event.exitCode ?? null,
        durationMs: event.durationMs,
        ...(event.reason !== undefined ? { reason: event.reason } : {}),
      });
      this.steps.set(event.host, list);
      return undefined;
    }
    if (event.type !== 'host-end') return undefined;
    const result: HostResult = {
      host: event.host,
      status: event.status as HostStatus,
      steps: this.steps.get(event.host) ?? [],
      rolledBack: event.rolledBack,
      ...(event.failedStep ? { failedStep: event.failedStep as { phase: Phase; id: string } } : {}),
      ...(event.error !== undefined ? { error: event.error } : {}),
    };
    this.results.set(event.host, result);
    return result;
  }

  has(host: string): boolean {
    return this.results.has(host);
  }

  get size(): number {
    return this.results.size;
  }

  /** Every host of `hosts` in that order; a host that never ended is not-started. */
  inOrder(hosts: readonly string[]): HostResult[] {
    return hosts.map(
      (h) =>
        this.results.get(h) ?? {
          host: h,
          status: 'not-started' as const,
          steps: this.steps.get(h) ?? [],
          rolledBack: false,
        },
    );
  }
}
