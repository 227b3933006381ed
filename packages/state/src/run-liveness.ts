import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isProcessAlive, processStartTime } from '@opsbook/schema';

/**
 * Whether a run without a run-end still has its runner: the files store's runner leaves
 * `runs/<run-id>.runner` (its PID, start time and machine) beside the journal while the journal
 * is open, and removes it when the journal closes. A runner killed or crashed leaves the mark
 * naming a process that is gone. Only the machine that ran it can tell (a PID means nothing
 * elsewhere): a mark from another machine does not make the run `running`.
 *
 * It is a view, never a grant: nothing the runner decides reads it, so a forged or deleted mark
 * changes only how `runs list` and `runs show` name a run that has no end.
 */
export function runnerMarkOf(journalFile: string): string {
  return journalFile.replace(/\.jsonl$/, '.runner');
}

/**
 * Writes the mark of this process as the runner of the run whose journal is `journalFile`; best
 * effort (a full disk must not stop a run for a view's sake), and undefined when not written.
 */
export async function markRunner(journalFile: string): Promise<string | undefined> {
  const file = runnerMarkOf(journalFile);
  // 'wx': never through a link someone left in the folder (the journal was just made with O_EXCL).
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(
        `${process.pid}\n${processStartTime(process.pid) ?? ''}\n${hostname()}\n`,
        'utf8',
      );
    } finally {
      await handle.close();
    }
    return file;
  } catch (e) {
    // A mark it made but could not fill (ENOSPC) is removed; one that was there is not ours.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(file).catch(() => undefined);
    return undefined;
  }
}

/** Removes a mark `markRunner` wrote. */
export async function unmarkRunner(file: string | undefined): Promise<void> {
  if (file !== undefined) await unlink(file).catch(() => undefined);
}

/** What the runner marks of some runs without a run-end say (`runnersIn`). */
export interface Runners {
  /** Those whose mark names a process of this machine that still runs. */
  live: Set<string>;
  /**
   * Those whose mark names another machine, with its name: a files store shared between
   * machines, whose runs this one cannot ask about.
   */
  elsewhere: Map<string, string>;
}

/** The marks of `runIds` (beside the journals `journalFileOf` names), each read once. */
export async function runnersIn(
  runIds: readonly string[],
  journalFileOf: (runId: string) => string,
): Promise<Runners> {
  const runners: Runners = { live: new Set(), elsewhere: new Map() };
  const here = hostname();
  for (const [runId, mark] of await marksOf(runIds, journalFileOf)) {
    if (mark.host !== here) {
      if (mark.host !== '') runners.elsewhere.set(runId, mark.host);
    } else if (isProcessAlive(mark.pid, mark.started)) runners.live.add(runId);
  }
  return runners;
}

interface RunnerMark {
  pid: number;
  started: string | undefined;
  host: string;
}

/** The well-formed marks of `runIds` (a missing or malformed one is left out). */
async function marksOf(
  runIds: readonly string[],
  journalFileOf: (runId: string) => string,
): Promise<Map<string, RunnerMark>> {
  const marks = new Map<string, RunnerMark>();
  await Promise.all(
    runIds.map(async (runId) => {
      let text: string;
      try {
        text = await readFile(runnerMarkOf(journalFileOf(runId)), 'utf8');
      } catch {
        return;
      }
      const m = /^(\d+)\n(\d*)\n(.*)\n$/.exec(text);
      const pid = Number(m?.[1]);
      if (!m || !Number.isSafeInteger(pid) || pid <= 0) return;
      marks.set(runId, { pid, started: m[2] || undefined, host: m[3] ?? '' });
    }),
  );
  return marks;
}
