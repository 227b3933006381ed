import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { syncDirectory } from '@opsbook/schema';
import type { AlertRecord } from './alert.js';

/**
 * How far the convergence has read each day's intake file (bytes), and the day before which
 * every file is read through: a day file is appended to by whoever receives that UTC day, so
 * the two most recent days are followed by offset.
 */
export interface IntakeCursor {
  offsets: Record<string, number>;
  doneBefore: string;
}

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const CHUNK = 1 << 20;
const FOLLOWED_DAYS = 2;

async function dayFiles(intakeDir: string): Promise<string[]> {
  const names = await readdir(intakeDir).catch(() => [] as string[]);
  return names.flatMap((n) => DAY_FILE.exec(n)?.[1] ?? []).sort();
}

/** A stored line as a record; undefined for a line a crashed writer tore (never acknowledged). */
function recordOf(line: string): AlertRecord | undefined {
  try {
    const value = JSON.parse(line) as AlertRecord;
    return typeof value?.fingerprint === 'string' && typeof value.receivedAt === 'string'
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the day files from `fromDay` on, and the folder's entries, durable. A process killed
 * between its write and its fsync leaves lines in the page cache only: whoever reads them as
 * stored (a restarted receiver answers their retries 200 as duplicates) syncs them first.
 */
export async function syncIntakeFiles(intakeDir: string, fromDay: string): Promise<void> {
  const days = (await dayFiles(intakeDir)).filter((d) => d >= fromDay);
  for (const day of days) {
    const handle = await open(path.join(intakeDir, `${day}.jsonl`), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  if (days.length) await syncDirectory(intakeDir);
}

/** Up to `take` alerts after `cursor`, oldest file first, and the cursor past them. */
export async function readIntakeAfter(
  intakeDir: string,
  cursor: IntakeCursor,
  take: number,
): Promise<{ alerts: AlertRecord[]; cursor: IntakeCursor }> {
  const days = (await dayFiles(intakeDir)).filter((d) => d >= cursor.doneBefore);
  const offsets = { ...cursor.offsets };
  const alerts: AlertRecord[] = [];
  for (const day of days) {
    if (alerts.length >= take) break;
    const handle = await open(path.join(intakeDir, `${day}.jsonl`), 'r');
    try {
      let offset = offsets[day] ?? 0;
      let rest = Buffer.alloc(0);
      for (;;) {
        const chunk = Buffer.alloc(CHUNK);
        const { bytesRead } = await handle.read(chunk, 0, CHUNK, offset + rest.length);
        if (bytesRead === 0) break;
        let buffer = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
        let start = 0;
        for (let nl = buffer.indexOf(10); nl >= 0 && alerts.length < take; ) {
          const record = recordOf(buffer.toString('utf8', start, nl));
          if (record) alerts.push(record);
          start = nl + 1;
          nl = buffer.indexOf(10, start);
        }
        offset += start;
        buffer = buffer.subarray(start);
        rest = buffer;
        if (alerts.length >= take) break;
      }
      offsets[day] = offset;
    } finally {
      await handle.close();
    }
  }
  const newest = days.at(-1);
  const followedFrom = newest ? dayBefore(newest, FOLLOWED_DAYS) : '';
  // Never back: a day once read through stays read through.
  const doneBefore = [followedFrom, cursor.doneBefore].sort().at(-1) ?? '';
  for (const day of Object.keys(offsets)) if (day < doneBefore) delete offsets[day];
  return { alerts, cursor: { offsets, doneBefore } };
}

function dayBefore(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
}

/** Every stored alert of the day files in [fromDay, toDay], in file order. */
export async function* readIntakeLines(
  intakeDir: string,
  fromDay: string,
  toDay: string,
): AsyncGenerator<AlertRecord> {
  for (const day of await dayFiles(intakeDir)) {
    if (day < fromDay || day > toDay) continue;
    const lines = createInterface({
      input: createReadStream(path.join(intakeDir, `${day}.jsonl`)),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      const record = recordOf(line);
      if (record) yield record;
    }
  }
}
