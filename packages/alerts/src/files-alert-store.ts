import { type FileHandle, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, storageErrorOf, syncDirectory, writeFileAtomic } from '@opsbook/schema';
import { type LockOptions, withLockFile } from '@opsbook/state';
import { type AlertRecord, alertKey } from './alert.js';
import { RoundBook } from './alert-round.js';
import type { AlertDay, AlertState, AlertStore } from './alert-store.js';
import { utcDay } from './alert-store.js';
import { alertsErrors } from './error-codes.js';
import type { Incident } from './incident.js';
import { IncidentJournal } from './incident-journal.js';
import { matchesQuery } from './incident-query.js';
import { readIntakeAfter, readIntakeLines, syncIntakeFiles } from './intake-files.js';

export const ALERTS_DIR = 'alerts';
const PRIVATE = { mode: 0o600, dirMode: 0o700 } as const;

/**
 * The files backend, under `<stateDir>/alerts/` (one engineer or one receiver machine):
 *
 * - `intake/YYYY-MM-DD.jsonl`: every alert received that UTC day, one JSON line each, appended
 *   and fsynced before the webhook is answered;
 * - `state.json` and `incidents-<n>.log`: the open incidents, the counters and how far each
 *   intake file is converged, a snapshot and one line per step since (IncidentJournal), under
 *   `state.lock`;
 * - `incidents/INC-<n>.json`: incidents that closed (quiet), kept for list, show and reports.
 */
export function filesAlertStore(
  stateDir: string,
  options: { lock?: LockOptions; maxAlerts?: number } = {},
): AlertStore {
  const dir = path.join(stateDir, ALERTS_DIR);
  /**
   * The deliveries of each alert this process stored or read back (recentKeys, at start): the
   * rounds of the next ones, and which are stored already. One receiver per state dir, so its
   * memory is what the files hold, for the window it read at start.
   */
  const book = new RoundBook(options.maxAlerts ?? 200_000);
  const intakeDir = path.join(dir, 'intake');
  const journal = new IncidentJournal(dir);
  /** A step of this process is under way: its objects are not for readers. */
  let stepping = false;
  const archiveDir = path.join(dir, 'incidents');
  const handles = new Map<string, Promise<FileHandle>>();
  let appending: Promise<unknown> = Promise.resolve();

  const handleFor = (day: string): Promise<FileHandle> => {
    let handle = handles.get(day);
    if (!handle) {
      handle = openForAppend(intakeDir, day);
      handles.set(day, handle);
      handle.catch(() => handles.delete(day));
    }
    return handle;
  };

  const appendNow = async (given: readonly AlertRecord[]): Promise<boolean[]> => {
    const placed = book.place(given);
    const records = placed.filter((p) => p.isNew).map((p) => p.record);
    const byDay = new Map<string, string[]>();
    for (const r of records) {
      const day = utcDay(r.receivedAt);
      const lines = byDay.get(day) ?? [];
      if (lines.length === 0) byDay.set(day, lines);
      lines.push(`${JSON.stringify(r)}\n`);
    }
    const written: Array<() => Promise<void>> = [];
    try {
      for (const [day, lines] of byDay)
        written.push(await appendLines(day, Buffer.from(lines.join(''))));
    } catch (e) {
      // A batch across midnight (UTC): the days before the one refused are cut back too, so
      // that the retry of the whole batch stores each alert once.
      for (const cutBack of written) await cutBack();
      throw e;
    }
    for (const r of records) book.add(r);
    return placed.map((p) => p.isNew);
  };

  /**
   * Appends whole lines, or none: a full disk takes part of a write (the slack of the file's
   * last page) and refuses the rest, so the file is cut back to its size before the write, and
   * the next append starts on a line of its own. When it cannot be cut back, the handle is
   * dropped: the next one opened ends the torn line first (openForAppend). Resolves with the
   * cutting back, for a batch refused on a later day.
   */
  const appendLines = async (day: string, data: Buffer): Promise<() => Promise<void>> => {
    const handle = await handleFor(day);
    const { size } = await handle.stat();
    const cutBack = () => handle.truncate(size).catch(() => dropHandle(day, handle));
    try {
      for (let at = 0; at < data.length; ) {
        const { bytesWritten } = await handle.write(data, at, data.length - at);
        if (bytesWritten === 0) throw new Error(`wrote nothing of ${data.length - at} bytes`);
        at += bytesWritten;
      }
      await handle.datasync();
    } catch (e) {
      await cutBack();
      throw (
        storageErrorOf(e, {
          place: `the intake file ${path.join(intakeDir, `${day}.jsonl`)}`,
          outcome: 'None of these alerts was stored',
          alternative: 'or set stateDir in opsbook.yaml to another place',
        }) ?? e
      );
    }
    return cutBack;
  };

  const dropHandle = async (day: string, handle: FileHandle): Promise<void> => {
    const current = handles.get(day);
    if (current && (await current.catch(() => undefined)) === handle) handles.delete(day);
    await handle.close().catch(() => undefined);
  };

  const openIncidents = async (): Promise<Incident[]> =>
    stepping ? (await new IncidentJournal(dir).read()).incidents : (await journal.read()).incidents;

  const readArchived = async (): Promise<Incident[]> => {
    const names = await readdir(archiveDir).catch(() => [] as string[]);
    const found: Incident[] = [];
    for (const name of names.filter((n) => /^INC-\d+\.json$/.test(n)))
      found.push(JSON.parse(await readFile(path.join(archiveDir, name), 'utf8')) as Incident);
    return found;
  };

  const exclusive = <T>(work: () => Promise<T>) =>
    withLockFile(path.join(dir, 'state.lock'), options.lock ?? {}, work, (holder) => {
      return new alertsErrors.WorkFailedError(
        'ALERTS_LOCKED',
        `the alert state in ${dir} is locked by ${holder === undefined ? 'another process' : `process ${holder}`}: ` +
          'wait for it (a long dispatch to a slow tracker), or delete state.lock if no opsbook alerts command runs',
        { lock: path.join(dir, 'state.lock'), holder },
      );
    });

  const archive = (incident: Incident) =>
    writeFileAtomic(
      path.join(archiveDir, `${incident.id}.json`),
      JSON.stringify(incident),
      PRIVATE,
    );

  return {
    kind: 'files',
    location: dir,
    append(records) {
      const next = appending.catch(() => undefined).then(() => appendNow(records));
      appending = next;
      return next;
    },
    async recentKeys(since) {
      const keys: string[] = [];
      const from = since.toISOString();
      await syncIntakeFiles(intakeDir, utcDay(from));
      for await (const r of readIntakeLines(intakeDir, utcDay(from), '9999-12-31')) {
        if (r.receivedAt < from) continue;
        keys.push(alertKey(r));
        book.add(r);
      }
      return keys;
    },
    async transact(take, work) {
      await makeDirectory(dir, { mode: 0o700 });
      return exclusive(async () => {
        stepping = true;
        try {
          const state = await journal.forStep();
          const { alerts, cursor } =
            take > 0
              ? await readIntakeAfter(intakeDir, state.cursor, take)
              : { alerts: [], cursor: state.cursor };
          // The state itself, not a copy (the store is its only writer while it holds the lock):
          // a step that fails midway is forgotten, and the next one reads the files again.
          const view: AlertState = {
            nextIncident: state.nextIncident,
            counters: { ...state.counters },
            incidents: [...state.incidents],
          };
          const { change, result } = await work(view, alerts);
          await journal.commit(change, cursor, archive);
          return result;
        } catch (e) {
          journal.forget();
          throw e;
        } finally {
          stepping = false;
        }
      });
    },
    async dispatchLock(work) {
      await makeDirectory(dir, { mode: 0o700 });
      const busy = new Error('dispatch lock taken');
      try {
        return await withLockFile(
          path.join(dir, 'dispatch.lock'),
          { retries: 0 },
          work,
          () => busy,
        );
      } catch (e) {
        if (e === busy) return undefined;
        throw e;
      }
    },
    async incidents(query = {}) {
      const open = await openIncidents();
      const all = query.open ? open : [...open, ...(await readArchived())];
      return all.filter((i) => matchesQuery(i, query)).sort(newestFirst);
    },
    async incident(idOrTicket) {
      const open = await openIncidents();
      const hit = open.find((i) => i.id === idOrTicket || i.ticket.key === idOrTicket);
      if (hit) return hit;
      if (/^INC-\d+$/.test(idOrTicket)) {
        const archived = await readFile(path.join(archiveDir, `${idOrTicket}.json`), 'utf8').catch(
          () => undefined,
        );
        if (archived) return JSON.parse(archived) as Incident;
      }
      return (await readArchived()).find((i) => i.ticket.key === idOrTicket);
    },
    async alertDays(since, until) {
      const from = since.toISOString();
      const to = until.toISOString();
      const days = new Map<string, { keys: Set<string>; day: AlertDay }>();
      for await (const r of readIntakeLines(intakeDir, utcDay(from), utcDay(to))) {
        if (r.receivedAt < from || r.receivedAt > to) continue;
        const day = utcDay(r.receivedAt);
        const entry = days.get(day) ?? { keys: new Set(), day: { day, firing: 0, resolved: 0 } };
        days.set(day, entry);
        const key = alertKey(r);
        if (entry.keys.has(key)) continue;
        entry.keys.add(key);
        entry.day[r.status]++;
      }
      return [...days.values()].map((d) => d.day).sort((a, b) => a.day.localeCompare(b.day));
    },
    async close() {
      await appending.catch(() => undefined);
      const open = [...handles.values()];
      handles.clear();
      await Promise.all(open.map(async (h) => (await h).close().catch(() => undefined)));
      await journal.close();
    },
  };
}

function newestFirst(a: Incident, b: Incident): number {
  return b.openedAt.localeCompare(a.openedAt) || b.id.localeCompare(a.id, 'en', { numeric: true });
}

/**
 * Opens the day's intake file for appending. A line a crashed writer left without its newline
 * (never acknowledged: its fsync did not return) is ended first, so the next line stands alone.
 */
async function openForAppend(intakeDir: string, day: string): Promise<FileHandle> {
  await makeDirectory(intakeDir, { mode: 0o700 });
  const file = path.join(intakeDir, `${day}.jsonl`);
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    if (size === 0) {
      await syncDirectory(intakeDir);
    } else {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await handle.write('\n');
    }
    return handle;
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}
