import type { AlertRecord } from './alert.js';
import type { Incident } from './incident.js';

/** What the convergence keeps between passes: the open incidents and its counters. */
export interface AlertState {
  /** The number of the next incident (`INC-<n>`). */
  nextIncident: number;
  /** Round-robin positions by ownership rule. */
  counters: Record<string, number>;
  /** The incidents that take new alerts. */
  incidents: Incident[];
}

/** What one exclusive step changes: incidents made or changed (closed ones leave the open set). */
export interface StateChange {
  nextIncident?: number;
  counters?: Record<string, number>;
  incidents?: Incident[];
}

/** Alerts received per UTC day, for reports. */
export interface AlertDay {
  day: string;
  firing: number;
  resolved: number;
}

/**
 * Where alerts and incidents live: the files under `<stateDir>/alerts/` by default, or the
 * team's PostgreSQL database (migration 6 of @opsbook/state). Both keep the same promises:
 *
 * - `append` returns once the alerts are durable (fsync, or a committed transaction);
 * - `transact` is exclusive across processes, and what it saves (the incidents, the counters, and
 *   that the alerts it was given are converged) is saved as one step or not at all.
 */
export interface AlertStore {
  readonly kind: 'files' | 'postgres';
  /** Where, for messages: the folder, or the database (never its password). */
  readonly location: string;
  /**
   * Makes `records` durable, in order, each in its round (`roundOf`, from what the store holds:
   * PostgreSQL reads it in the transaction that stores them; the files store remembers what it
   * stored and read back). For each: true when stored, false when the store already had it.
   */
  append(records: readonly AlertRecord[]): Promise<boolean[]>;
  /**
   * The keys (`alertKey`) of the alerts received since `since` (the files store remembers their
   * rounds: the intake's warm-up at start). Each is durable when returned (the files store syncs
   * what a killed process wrote unsynced).
   */
  recentKeys(since: Date): Promise<string[]>;
  /**
   * Runs `work` alone (no other pass or update of any process runs meanwhile) on the state and
   * up to `take` alerts not converged yet, oldest first; saves its change and marks those alerts
   * converged, together.
   */
  transact<T>(
    take: number,
    work: (
      state: AlertState,
      alerts: readonly AlertRecord[],
    ) => Promise<{ change: StateChange; result: T }> | { change: StateChange; result: T },
  ): Promise<T>;
  /**
   * Runs `work` holding the dispatch lock (one dispatcher across processes, so that two never
   * create the same ticket); undefined, without running it, when another process holds it.
   */
  dispatchLock<T>(work: () => Promise<T>): Promise<T | undefined>;
  /** Incidents, newest first: the open ones, or those opened in [since, until]. */
  incidents(query?: { open?: boolean; since?: Date; until?: Date }): Promise<Incident[]>;
  /** One incident by id (`INC-7`) or by its ticket's key. */
  incident(idOrTicket: string): Promise<Incident | undefined>;
  /** Alerts received per UTC day in [since, until], each alert once. */
  alertDays(since: Date, until: Date): Promise<AlertDay[]>;
  close(): Promise<void>;
}

/** `INC-<n>` of a number. */
export function incidentId(n: number): string {
  return `INC-${n}`;
}

/** The UTC day (`YYYY-MM-DD`) of an ISO time. */
export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}
