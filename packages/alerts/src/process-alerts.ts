import { randomUUID } from 'node:crypto';
import type { Tracker } from '@opsbook/tracker';
import type { AlertStore } from './alert-store.js';
import { convergeAlerts } from './converge.js';
import { type DispatchReport, dispatchIncidents, type ProvenDecision } from './dispatch.js';
import type { AlertRules } from './rules.js';
import type { Topology } from './topology.js';

/** What converges and dispatches: a store, the rules and the inventory, and the tracker. */
export interface AlertPipeline {
  store: AlertStore;
  rules: AlertRules;
  topology: Topology;
  /** Absent: incidents are made and graded, no ticket is (`--no-dispatch`). */
  tracker?: Tracker;
  /** Checks each senior's re-grade before its incident is dispatched (DispatchOptions). */
  isProven?: ProvenDecision;
  now?: () => Date;
  newDeliveryId?: () => string;
}

export interface ConvergeSummary {
  alerts: number;
  opened: string[];
  updated: string[];
  closed: string[];
  /** Resolutions of alerts no open incident holds. */
  skipped: number;
}

/** Alerts taken per pass: a pass is one exclusive step of the store. */
const PASS_SIZE = 5000;

/** Converges every stored alert not converged yet, pass after pass, and closes quiet incidents. */
export async function convergeStored(pipeline: AlertPipeline): Promise<ConvergeSummary> {
  const now = pipeline.now ?? (() => new Date());
  const newDeliveryId = pipeline.newDeliveryId ?? randomUUID;
  const summary: ConvergeSummary = { alerts: 0, opened: [], updated: [], closed: [], skipped: 0 };
  for (;;) {
    const taken = await pipeline.store.transact(PASS_SIZE, (state, alerts) => {
      const result = convergeAlerts({
        rules: pipeline.rules,
        topology: pipeline.topology,
        state,
        alerts,
        now: now(),
        newDeliveryId,
      });
      summary.alerts += alerts.length;
      summary.opened.push(...result.opened);
      summary.closed.push(...result.closed);
      summary.skipped += result.skipped;
      for (const id of result.updated)
        if (!summary.updated.includes(id) && !summary.opened.includes(id)) summary.updated.push(id);
      return { change: result.change, result: alerts.length };
    });
    if (taken < PASS_SIZE) return summary;
  }
}

/** One convergence of what is stored, then one dispatch of what the tracker lacks. */
export async function processAlerts(
  pipeline: AlertPipeline,
): Promise<{ converged: ConvergeSummary; dispatched?: DispatchReport }> {
  const converged = await convergeStored(pipeline);
  if (!pipeline.tracker) return { converged };
  const dispatched = await dispatchIncidents({
    store: pipeline.store,
    tracker: pipeline.tracker,
    successors: {
      rules: pipeline.rules,
      topology: pipeline.topology,
      newDeliveryId: pipeline.newDeliveryId ?? randomUUID,
    },
    ...(pipeline.isProven ? { isProven: pipeline.isProven } : {}),
    ...(pipeline.now ? { now: pipeline.now } : {}),
  });
  return { converged, dispatched };
}

/** `retryInMs`: a pass is scheduled that long after this one (the tracker lacks something). */
export type ProcessorEvent =
  | {
      type: 'processed';
      converged: ConvergeSummary;
      dispatched?: DispatchReport;
      retryInMs?: number;
    }
  | { type: 'failed'; message: string; retryInMs?: number };

/**
 * The pipeline of each pass: a fixed one, or one asked for before every pass (`alerts serve`
 * reloads alerts.yaml when it changed); undefined while there are no rules (alerts are stored).
 */
export type PipelineSource = AlertPipeline | (() => Promise<AlertPipeline | undefined>);

export interface AlertProcessorOptions {
  /** Waits this long after new alerts before a pass, to take a burst in one (default 200 ms). */
  debounceMs?: number;
  /** While the tracker lacks something, tries again this often at first (default 5 s, doubling to 5 min). */
  retryMs?: number;
  onEvent?: (event: ProcessorEvent) => void;
}

/**
 * Runs `processAlerts` in the background of a receiver: soon after alerts are stored
 * (`schedule`), one pass at a time, and again later while dispatch is waiting on the tracker.
 */
export class AlertProcessor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private retryMs: number;

  constructor(
    private readonly source: PipelineSource,
    private readonly options: AlertProcessorOptions = {},
  ) {
    this.retryMs = this.baseRetryMs;
  }

  private async pipeline(): Promise<AlertPipeline | undefined> {
    return typeof this.source === 'function' ? this.source() : this.source;
  }

  /** Asks for a pass soon (one pass covers everything stored by the time it starts). */
  schedule(delayMs = this.options.debounceMs ?? 200): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.again) {
          // Alerts came during the pass: the next one waits the debounce too, so that a burst
          // is taken in a few large passes and the receiver keeps the event loop meanwhile.
          this.again = false;
          this.schedule();
        }
      });
    }, delayMs);
  }

  private async run(): Promise<void> {
    let event: ProcessorEvent;
    try {
      const pipeline = await this.pipeline();
      if (!pipeline) return; // no rules: the alerts are only stored
      const result = await processAlerts(pipeline);
      const d = result.dispatched;
      let retryInMs: number | undefined;
      if (d && d.waiting.length > 0) retryInMs = this.retryLater('backoff');
      // Another process dispatches: look again after the first delay, not an outage's backoff
      // (it may have been killed, and its lock is then broken at once).
      else if (d?.busy) retryInMs = this.retryLater('base');
      else this.retryMs = this.baseRetryMs;
      event = { type: 'processed', ...result, ...(retryInMs === undefined ? {} : { retryInMs }) };
    } catch (e) {
      const retryInMs = this.retryLater('backoff');
      event = {
        type: 'failed',
        message: e instanceof Error ? e.message : String(e),
        ...(retryInMs === undefined ? {} : { retryInMs }),
      };
    }
    this.options.onEvent?.(event);
  }

  private get baseRetryMs(): number {
    return this.options.retryMs ?? 5000;
  }

  /**
   * Schedules another pass: after the current backoff, which then doubles (to 5 min), or after
   * the first delay. Returns the delay, or undefined when a pass is already scheduled or the
   * processor closed.
   */
  private retryLater(kind: 'backoff' | 'base'): number | undefined {
    if (this.closed || this.timer) return undefined;
    let delay = this.baseRetryMs;
    if (kind === 'backoff') {
      delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, 300_000);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule(0);
    }, delay);
    this.timer.unref();
    return delay;
  }

  /**
   * Stops: waits for the pass in progress, then converges what is stored (quick, local). What
   * the tracker still lacks is sent by the first pass of the next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.pipeline()
      .then((pipeline) => pipeline && convergeStored(pipeline))
      .catch((e: unknown) => {
        this.options.onEvent?.({
          type: 'failed',
          message: e instanceof Error ? e.message : String(e),
        });
      });
  }
}
