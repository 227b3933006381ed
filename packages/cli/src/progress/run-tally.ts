import type { RunEvent } from '@opsbook/runner';
import { phases } from '@opsbook/schema';

/*
 * What the live status of a run shows, folded from its events: a pure function of the events and
 * the times they arrived at, so a test can replay a run with a fixed clock.
 */

/** The step a host is in now. */
export interface CurrentStep {
  phase: string;
  step: string;
  name: string;
}

export interface RunTally {
  /** The runbook's name and version, once run-start came. */
  runbook?: string;
  hostCount: number;
  /** When each running host started, by host. */
  running: Map<string, number>;
  /** The step each running host is in, while it is in one. */
  steps: Map<string, CurrentStep>;
  ok: number;
  /** Hosts that ended in anything but ok. */
  failed: number;
  /** How long each finished host took, start to end, in ms. */
  durations: number[];
  /** The most hosts seen running at once: the run's concurrency, as far as the ETA can tell. */
  mostRunning: number;
  startedAt: number;
  /** run-end came: nothing is left to estimate. */
  isOver: boolean;
}

export function startTally(at: number): RunTally {
  return {
    hostCount: 0,
    running: new Map(),
    steps: new Map(),
    ok: 0,
    failed: 0,
    durations: [],
    mostRunning: 0,
    startedAt: at,
    isOver: false,
  };
}

/** The tally after `event`, which arrived at `at` (ms). */
export function tallyEvent(tally: RunTally, event: RunEvent, at: number): RunTally {
  const next = { ...tally, running: new Map(tally.running), steps: new Map(tally.steps) };
  switch (event.type) {
    case 'run-start':
      next.runbook = `${event.runbook.name} ${event.runbook.version}`;
      next.hostCount = event.hosts.length;
      next.startedAt = at;
      break;
    case 'host-start':
      next.running.set(event.host, at);
      next.mostRunning = Math.max(next.mostRunning, next.running.size);
      break;
    case 'step-start':
      next.steps.set(event.host, { phase: event.phase, step: event.step, name: event.name });
      break;
    case 'step-end':
      next.steps.delete(event.host);
      break;
    case 'host-end': {
      const started = next.running.get(event.host);
      next.running.delete(event.host);
      next.steps.delete(event.host);
      if (started !== undefined) next.durations = [...next.durations, at - started];
      if (event.status === 'ok') next.ok += 1;
      else next.failed += 1;
      break;
    }
    case 'run-end': {
      // Hosts that never started end here: they count as not done well.
      const statuses = Object.values(event.hosts);
      next.ok = statuses.filter((s) => s === 'ok').length;
      next.failed = statuses.length - next.ok;
      next.running.clear();
      next.steps.clear();
      next.isOver = true;
      break;
    }
  }
  return next;
}

/** Hosts not started yet. */
export function waitingCount(tally: RunTally): number {
  return Math.max(0, tally.hostCount - tally.ok - tally.failed - tally.running.size);
}

/**
 * The time left, in ms, from the finished hosts' mean duration: each running host needs what it
 * lacks of the mean, and the waiting hosts run in waves as wide as the most hosts seen at once.
 * Undefined until a host finished.
 */
export function remainingMs(tally: RunTally, now: number): number | undefined {
  if (tally.durations.length === 0) return undefined;
  const mean = tally.durations.reduce((a, b) => a + b, 0) / tally.durations.length;
  let runningLeft = 0;
  for (const started of tally.running.values())
    runningLeft = Math.max(runningLeft, mean - (now - started));
  const waves = Math.ceil(waitingCount(tally) / Math.max(1, tally.mostRunning));
  return Math.max(0, runningLeft) + waves * mean;
}

/** The steps hosts are in now, per phase in the order phases come, most hosts first. */
export function currentSteps(
  tally: RunTally,
): Array<{ phase: string; steps: Array<CurrentStep & { hosts: number }> }> {
  const byPhase = new Map<string, Map<string, CurrentStep & { hosts: number }>>();
  for (const s of tally.steps.values()) {
    const steps = byPhase.get(s.phase) ?? new Map();
    byPhase.set(s.phase, steps);
    const seen = steps.get(s.step);
    if (seen) seen.hosts += 1;
    else steps.set(s.step, { ...s, hosts: 1 });
  }
  const order: readonly string[] = phases;
  return [...byPhase.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([phase, steps]) => ({
      phase,
      steps: [...steps.values()].sort((a, b) => b.hosts - a.hosts),
    }));
}
