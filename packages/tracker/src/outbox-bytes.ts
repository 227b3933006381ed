import path from 'node:path';
import { readOwnFile } from '@opsbook/schema';
import { trackerErrors } from './error-codes.js';

/** The ids the outbox gives entries (UUIDs): a name inside the outbox folder, never a path. */
const ENTRY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Whether `id` can name an entry's files (`<id>.bin`) inside the outbox folder. */
export function isOutboxEntryId(id: string): boolean {
  return ENTRY_ID.test(id);
}

/**
 * Reads the bytes the outbox wrote for a queued attachment, and only those. The state dir is the
 * engineer's (`--config`), but a team runner flushes its outbox with the runner account's Jira
 * credentials at the end of every run: a bytes file turned into a link to that account's SSH key,
 * a hard link, a FIFO, one of someone else's, or an entry id naming a path out of the folder
 * would otherwise post the runner's files to the ticket. Refused as TRACKER_STATE_INVALID (the
 * entry fails and waits for a person); nothing is read from such a file.
 */
export async function readOutboxBytes(dir: string, id: string): Promise<Buffer> {
  const file = path.join(dir, `${id}.bin`);
  if (!isOutboxEntryId(id))
    throw refusal(file, `entry id ${JSON.stringify(id)} is not a name in the outbox folder`);
  const read = await readOwnFile(file, [path.basename(dir), `${id}.bin`]);
  if ('refused' in read) throw refusal(file, read.refused);
  return read.bytes;
}

function refusal(file: string, why: string) {
  return new trackerErrors.ValidationError(
    [
      {
        file,
        line: 0,
        col: 0,
        rule: 'outbox-bytes',
        message: `${why}, so it is not a file the outbox wrote and is not sent (someone changed the outbox): check the queued write, then move its .json and .bin out of the outbox folder to drop it`,
      },
    ],
    'TRACKER_STATE_INVALID',
  );
}
