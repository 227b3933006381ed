import { type FileHandle, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeFileAtomic } from '@opsbook/schema';
import type { StateChange } from './alert-store.js';
import type { CommentBatch, Incident, IncidentAlert } from './incident.js';
import type { IntakeCursor } from './intake-files.js';

const PRIVATE = { mode: 0o600, dirMode: 0o700 } as const;
/** The log is folded into a new snapshot once it is this large and larger than the snapshot. */
const COMPACT_MIN_BYTES = 32 * 1024 * 1024;
const LOG_NAME = /^incidents-\d+\.log$/;

/** What the convergence keeps between passes, with how far each intake file is converged. */
export interface StoredState {
  cursor: IntakeCursor;
  nextIncident: number;
  counters: Record<string, number>;
  /** The open incidents. */
  incidents: Incident[];
}

/** `state.json`: a snapshot of the state and the log of the steps taken since. */
interface Snapshot extends StoredState {
  /** 1: every step rewrote this file (no log); 2: steps since are lines of `log`. */
  version: 1 | 2;
  log?: string;
}

/** An alert of an incident as a step changed it: everything but its labels (which never change). */
type AlertChange = Omit<IncidentAlert, 'labels'>;

/** One incident in one step: the whole of a new one, or what changed of one the state holds. */
type IncidentStep =
  | { whole: Incident }
  | {
      /** Every field but its alerts and comments. */
      head: Omit<Incident, 'alerts' | 'comments'>;
      added: IncidentAlert[];
      changed: AlertChange[];
      /** Comments new or changed, whole. */
      comments: CommentBatch[];
    };

/** One line of the log: one exclusive step of the store (`transact`), all of it or none. */
interface LogLine {
  cursor: IntakeCursor;
  nextIncident: number;
  counters: Record<string, number>;
  incidents: IncidentStep[];
  /** Incidents that closed in this step (archived before the line was written). */
  closed: string[];
}

/** What the log holds of an incident: to write only what a step changed. */
interface Written {
  alerts: Map<string, string>;
  comments: Map<number, string>;
}

function alertChange(a: IncidentAlert): AlertChange {
  const { labels: _labels, ...rest } = a;
  return rest;
}
/** Every field of the alert but its labels, cheaply (a step marks every alert it holds). */
const alertMark = (a: IncidentAlert) =>
  `${a.status}\0${a.startsAt}\0${a.endsAt}\0${a.lastChange}\0${a.fired}\0${a.reported?.status}\0${a.reported?.fired}\0${a.summary}\0${a.alertname}\0${a.severity}\0${a.host}\0${a.service}\0${a.generatorURL}\0${a.firstSeen}`;
const commentMark = (c: CommentBatch) =>
  `${c.attempted}|${c.commentId ?? ''}|${c.body.blocks.length}|${c.deliveryId}|${c.uncertain ?? ''}`;

function writtenOf(incident: Incident): Written {
  return {
    alerts: new Map(incident.alerts.map((a) => [a.fingerprint, alertMark(a)])),
    comments: new Map(incident.comments.map((c) => [c.n, commentMark(c)])),
  };
}

/** The identity of the files: another process's step changes one of them. */
interface Seen {
  snapshot: string;
  logSize: number;
}

/**
 * The incident state of the files store: `state.json` (a snapshot) and `incidents-<n>.log`, one
 * JSON line per step appended and fdatasynced (a line a crash tore is not a step: dropped). A
 * step writes what it changed (new alerts whole, changed ones without their labels, an
 * incident's other fields), not the whole state; the log is folded into a new snapshot
 * (atomically replaced) once it outgrows it. The state stays in memory between steps while no
 * other process took one (the files' identity is checked under the lock).
 */
export class IncidentJournal {
  private state: StoredState | undefined;
  private written = new Map<string, Written>();
  private seen: Seen | undefined;
  private log = '';
  private snapshotBytes = 0;
  private logHandle: FileHandle | undefined;
  /** Logs a compaction's crash left behind were looked for (once, by the first writer's load). */
  private staleLogsChecked = false;

  constructor(
    private readonly dir: string,
    private readonly compactMinBytes = COMPACT_MIN_BYTES,
  ) {}

  private get snapshotFile() {
    return path.join(this.dir, 'state.json');
  }

  /** The state for a step (hold the lock): the one in memory while nobody else wrote. */
  async forStep(): Promise<StoredState> {
    if (this.state && (await this.isCurrent())) return this.state;
    await this.load(true);
    return this.state!;
  }

  /**
   * The state as stored now, for a reader without the lock: the one in memory while it is
   * current (not a copy: for reading only, never changed outside a step), else read anew.
   */
  async read(): Promise<StoredState> {
    if (!this.state || !(await this.isCurrent())) {
      const reader = new IncidentJournal(this.dir, this.compactMinBytes);
      await reader.load(false);
      return reader.state!;
    }
    return this.state;
  }

  /** Forgets the state in memory (a step failed midway: its objects may be half changed). */
  forget(): void {
    this.state = undefined;
    this.seen = undefined;
  }

  private async identity(): Promise<Seen | undefined> {
    const s = await stat(this.snapshotFile).catch(() => undefined);
    const l = await stat(path.join(this.dir, this.log || 'none')).catch(() => undefined);
    return { snapshot: s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '', logSize: l?.size ?? 0 };
  }

  private async isCurrent(): Promise<boolean> {
    const now = await this.identity();
    return now?.snapshot === this.seen?.snapshot && now?.logSize === this.seen?.logSize;
  }

  /** Reads the snapshot and replays its log; the writer (`repair`) cuts a torn last line off. */
  private async load(repair: boolean): Promise<void> {
    for (let tries = 0; ; tries++) {
      await this.closeLog();
      let text = '';
      try {
        text = await readFile(this.snapshotFile, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const snapshot: Snapshot = text
        ? (JSON.parse(text) as Snapshot)
        : {
            version: 2,
            cursor: { offsets: {}, doneBefore: '' },
            nextIncident: 1,
            counters: {},
            incidents: [],
          };
      this.snapshotBytes = text.length;
      this.log = snapshot.log ?? 'incidents-1.log';
      if (repair && text && !this.staleLogsChecked) {
        await this.removeStaleLogs();
        this.staleLogsChecked = true;
      }
      const state: StoredState = {
        cursor: snapshot.cursor,
        nextIncident: snapshot.nextIncident,
        counters: snapshot.counters,
        incidents: snapshot.incidents,
      };
      const logFile = path.join(this.dir, this.log);
      let logText: Buffer | undefined;
      try {
        logText = await readFile(logFile);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // Folded into a newer snapshot while we read: read that one.
        const again = await readFile(this.snapshotFile, 'utf8').catch(() => '');
        if (again !== text && tries < 5) continue;
      }
      const good = logText ? replay(state, logText) : 0;
      if (repair && logText && good < logText.length) {
        const handle = await open(logFile, 'r+');
        try {
          await handle.truncate(good);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      }
      this.state = state;
      this.written = new Map(state.incidents.map((i) => [i.id, writtenOf(i)]));
      this.seen = await this.identity();
      return;
    }
  }

  /**
   * Removes the logs the snapshot does not name: a crash between a compaction's snapshot and the
   * old log's removal leaves that log behind, folded into the snapshot already and never read
   * again. The snapshot (and its name in the folder) is made durable first, so that no crash can
   * bring back an older snapshot naming a log that is gone. Called with the lock held.
   */
  private async removeStaleLogs(): Promise<void> {
    const stale = (await readdir(this.dir)).filter((n) => LOG_NAME.test(n) && n !== this.log);
    if (stale.length === 0) return;
    const handle = await open(this.snapshotFile, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(this.dir);
    for (const name of stale)
      await unlink(path.join(this.dir, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
  }

  /**
   * Saves a step: archives the incidents that closed, then appends the line of what changed
   * (durable when this returns). `cursor` is how far the step converged the intake.
   */
  async commit(
    change: StateChange,
    cursor: IntakeCursor,
    archive: (incident: Incident) => Promise<void>,
  ): Promise<void> {
    const state = this.state!;
    if (change.nextIncident !== undefined) state.nextIncident = change.nextIncident;
    if (change.counters) state.counters = change.counters;
    state.cursor = cursor;
    const line: LogLine = {
      cursor,
      nextIncident: state.nextIncident,
      counters: state.counters,
      incidents: [],
      closed: [],
    };
    const byId = new Map(state.incidents.map((i) => [i.id, i]));
    for (const incident of change.incidents ?? []) {
      if (!incident.open) {
        // Archived first: a crash before the line leaves it in both, never lost.
        await archive(incident);
        if (byId.delete(incident.id)) line.closed.push(incident.id);
        this.written.delete(incident.id);
        continue;
      }
      byId.set(incident.id, incident);
      line.incidents.push(this.stepOf(incident));
    }
    state.incidents = [...byId.values()];
    await this.append(`${JSON.stringify(line)}\n`);
    if (this.seen && this.seen.logSize > Math.max(this.compactMinBytes, this.snapshotBytes * 2))
      await this.compact();
  }

  /** What the log lacks of the incident, and remembers it written. */
  private stepOf(incident: Incident): IncidentStep {
    const before = this.written.get(incident.id);
    const now = writtenOf(incident);
    this.written.set(incident.id, now);
    if (
      !before ||
      before.alerts.size > incident.alerts.length ||
      before.comments.size > incident.comments.length
    )
      return { whole: incident };
    const { alerts, comments, ...head } = incident;
    const step = {
      head,
      added: [] as IncidentAlert[],
      changed: [] as AlertChange[],
      comments: [] as CommentBatch[],
    };
    for (const a of alerts) {
      const was = before.alerts.get(a.fingerprint);
      if (was === undefined) step.added.push(a);
      else if (was !== now.alerts.get(a.fingerprint)) step.changed.push(alertChange(a));
    }
    for (const c of comments)
      if (before.comments.get(c.n) !== now.comments.get(c.n)) step.comments.push(c);
    return step;
  }

  private async append(text: string): Promise<void> {
    const file = path.join(this.dir, this.log);
    if (!this.logHandle) {
      const handle = await open(file, 'a', 0o600);
      const { size } = await handle.stat();
      if (size === 0) await syncDirectory(this.dir);
      this.logHandle = handle;
    }
    const data = Buffer.from(text);
    try {
      await this.logHandle.write(data);
      await this.logHandle.datasync();
    } catch (e) {
      this.forget();
      await this.closeLog();
      throw e;
    }
    const size = (this.seen?.logSize ?? 0) + data.length;
    this.seen = { snapshot: this.seen?.snapshot ?? '', logSize: size };
  }

  /** Folds the log into a new snapshot that names a fresh log, then removes the old log. */
  private async compact(): Promise<void> {
    const state = this.state!;
    const old = this.log;
    const n = Number(/^incidents-(\d+)\.log$/.exec(old)?.[1] ?? 1);
    const next = `incidents-${n + 1}.log`;
    const text = JSON.stringify({ version: 2, log: next, ...state } satisfies Snapshot);
    await writeFileAtomic(this.snapshotFile, text, PRIVATE);
    await this.closeLog();
    this.log = next;
    this.snapshotBytes = text.length;
    await unlink(path.join(this.dir, old)).catch(() => undefined);
    this.seen = await this.identity();
  }

  private async closeLog(): Promise<void> {
    const handle = this.logHandle;
    this.logHandle = undefined;
    await handle?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.closeLog();
  }
}

/** Applies the log's lines to `state`; returns the length of the whole lines it applied. */
function replay(state: StoredState, log: Buffer): number {
  const byId = new Map(state.incidents.map((i) => [i.id, i]));
  let start = 0;
  for (let nl = log.indexOf(10); nl >= 0; nl = log.indexOf(10, start)) {
    let line: LogLine;
    try {
      line = JSON.parse(log.toString('utf8', start, nl)) as LogLine;
    } catch {
      break; // torn by a crash: not a step, and nothing after it is
    }
    state.cursor = line.cursor;
    state.nextIncident = line.nextIncident;
    state.counters = line.counters;
    for (const id of line.closed) byId.delete(id);
    for (const step of line.incidents) {
      if ('whole' in step) {
        byId.set(step.whole.id, step.whole);
        continue;
      }
      const was = byId.get(step.head.id);
      const alerts = was?.alerts ?? [];
      const index = new Map(alerts.map((a, i) => [a.fingerprint, i]));
      for (const c of step.changed) {
        const at = index.get(c.fingerprint);
        if (at !== undefined) alerts[at] = { ...c, labels: alerts[at]!.labels };
      }
      alerts.push(...step.added);
      const comments = was?.comments ?? [];
      for (const c of step.comments) {
        const at = comments.findIndex((k) => k.n === c.n);
        if (at >= 0) comments[at] = c;
        else comments.push(c);
      }
      byId.set(step.head.id, { ...step.head, alerts, comments });
    }
    start = nl + 1;
  }
  state.incidents = [...byId.values()];
  return start;
}
