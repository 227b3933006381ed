import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { hashFile } from './archive-writer.js';
import { backupErrors } from './error-codes.js';
import type { ArchiveEntry } from './manifest.js';
import type { BackupEntry } from './repository.js';

/**
 * A backup's archive read once for a restore, hashed on the way (no pass before it, no copy on
 * the host). Every byte flows at once but the last chunk read; that chunk, and then `trailer`,
 * flow only when the size and sha256 of everything read equal the manifest's. So a host command
 * never receives a whole archive that does not match: `pg_restore --single-transaction` fails on
 * the missing end and commits nothing, and the file restore's script publishes its staging
 * folder only after reading the trailer (`commit`).
 */
export interface ArchiveSource {
  archive: ArchiveEntry;
  /** The bytes for the host command's stdin. */
  stream: Readable;
  /** `match` / `mismatch` once the archive was read to its end; `unread` before. */
  verdict(): 'match' | 'mismatch' | 'unread';
  /**
   * Why a restore failed: BACKUP_CORRUPT when the archive does not match its manifest (read
   * to its end here if the host stopped reading first), else undefined.
   */
  corruption(): Promise<InstanceType<typeof backupErrors.WorkFailedError> | undefined>;
  /** BACKUP_CORRUPT when reading the archive failed mid-stream (a disk error), else undefined. */
  unreadable(): InstanceType<typeof backupErrors.WorkFailedError> | undefined;
}

/** Opens the backup's archive; a missing one, or one of the wrong size, is refused at once. */
export async function openArchiveSource(
  entry: BackupEntry,
  options: { trailer?: string } = {},
): Promise<ArchiveSource> {
  const archive = entry.manifest.archives[0]!;
  const file = path.join(entry.dir, archive.name);
  const corrupt = (why: string) =>
    new backupErrors.WorkFailedError(
      'BACKUP_CORRUPT',
      `backup ${entry.id}: ${archive.name} ${why}; nothing was restored: run opsbook backup verify and restore another backup`,
      { backupId: entry.id, file },
    );
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw corrupt('is missing');
  if (info.size !== archive.size)
    throw corrupt(`has ${info.size} bytes, the manifest says ${archive.size}`);
  let verdict: 'match' | 'mismatch' | 'unread' = 'unread';
  let readError: Error | undefined;
  async function* read() {
    const hash = createHash('sha256');
    let size = 0;
    let held: Buffer | undefined;
    try {
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (held) yield held;
        held = chunk as Buffer;
      }
    } catch (e) {
      readError = e as Error;
      throw e;
    }
    verdict = size === archive.size && hash.digest('hex') === archive.sha256 ? 'match' : 'mismatch';
    if (verdict === 'mismatch') return;
    if (held) yield held;
    if (options.trailer) yield Buffer.from(options.trailer);
  }
  return {
    archive,
    stream: Readable.from(read(), { objectMode: false }),
    verdict: () => verdict,
    async corruption() {
      if (verdict === 'unread') {
        const actual = await hashFile(file).catch(() => undefined);
        verdict =
          actual?.sha256 === archive.sha256 && actual.size === archive.size ? 'match' : 'mismatch';
      }
      return verdict === 'mismatch' ? corrupt('does not match its manifest') : undefined;
    },
    unreadable: () => (readError ? corrupt(`could not be read (${readError.message})`) : undefined),
  };
}
