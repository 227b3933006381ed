import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArchiveEntry, ArchiveFormat } from './manifest.js';

export interface ArchiveProgress {
  archive: string;
  bytes: number;
}

export interface WriteArchiveOptions {
  dir: string;
  name: string;
  format: ArchiveFormat;
  /** Compress with gzip here, in Node (when the host has no zstd). */
  gzip?: boolean;
  signal?: AbortSignal | undefined;
  onProgress?: (progress: ArchiveProgress) => void;
  /** Given once the first `bytes` bytes as stored (fewer for a shorter archive): a header to read. */
  head?: { bytes: number; receive: (head: Buffer) => void };
}

const PROGRESS_EVERY = 64 * 1024 * 1024;

/**
 * Streams `source` into `<dir>/<name>` (created exclusively), hashing the bytes as stored, and
 * fsyncs it. The sha256 is computed on the bytes written, not re-read, so the manifest states
 * exactly what was received; `verify` later re-reads them from disk.
 */
export async function writeArchive(
  source: Readable,
  options: WriteArchiveOptions,
): Promise<ArchiveEntry> {
  const file = path.join(options.dir, options.name);
  const hash = createHash('sha256');
  let size = 0;
  let reported = 0;
  const head = options.head;
  let headChunks: Buffer[] | undefined = head ? [] : undefined;
  const giveHead = () => {
    if (!headChunks || !head) return;
    const bytes = Buffer.concat(headChunks);
    headChunks = undefined;
    head.receive(bytes.subarray(0, head.bytes));
  };
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (headChunks && head) {
        headChunks.push(chunk);
        if (size + chunk.length >= head.bytes) giveHead();
      }
      hash.update(chunk);
      size += chunk.length;
      if (size - reported >= PROGRESS_EVERY) {
        reported = size;
        options.onProgress?.({ archive: options.name, bytes: size });
      }
      done(null, chunk);
    },
  });
  // wx: never overwrite; flush: fsync before close, so a committed archive is on disk.
  const sink = createWriteStream(file, {
    flags: 'wx',
    mode: 0o600,
    flush: true,
    highWaterMark: 1 << 20,
  });
  const stages: NodeJS.ReadWriteStream[] = [];
  if (options.gzip) {
    const { createGzip } = await import('node:zlib');
    stages.push(createGzip({ level: 6 }));
  }
  await pipeline([source, ...stages, meter, sink] as never, { signal: options.signal });
  giveHead();
  options.onProgress?.({ archive: options.name, bytes: size });
  return { name: options.name, size, sha256: hash.digest('hex'), format: options.format };
}

/** sha256 and size of a file on disk. */
export async function hashFile(
  file: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const handle = await open(file, 'r');
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of handle.createReadStream({
      autoClose: false,
      highWaterMark: 1 << 20,
    })) {
      signal?.throwIfAborted();
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** An AbortController that also aborts when `parent` does. */
export function linkedController(parent: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (parent?.aborted) controller.abort();
  else parent?.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}
