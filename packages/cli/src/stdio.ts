import { fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ignoreClosedPipe } from './closed-pipe.js';

/** Where an Output writes: the process's stdout and stderr. */
export interface Stdio {
  /** Whether stdout is a terminal: colour is for terminals only. */
  isStdoutTTY(): boolean;
  out(text: string): void;
  err(text: string): void;
  /** Whether part of what was written is still queued in the process (a full pipe). */
  isPending(): boolean;
}

/** Through process.stdout and process.stderr. */
export const streamStdio: Stdio = {
  isStdoutTTY: () => Boolean(process.stdout.isTTY),
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
  isPending: () => process.stdout.writableLength > 0 || process.stderr.writableLength > 0,
};

/**
 * Straight to file descriptors 1 and 2, as the streams write on Linux (synchronously, to files,
 * pipes and terminals alike), without setting up process.stdout and process.stderr: for pipes that
 * loads Node's net and stream modules, ~4% of a cold `validate` of 200 runbooks. A write that does
 * not go through at once (a full pipe, a reader gone away, any error) hands what is left of it,
 * and every later write to that descriptor, to its stream, which queues, ignores or throws as it
 * always did; the order of the bytes is kept.
 */
export function directStdio(): Stdio {
  const out = descriptorWriter(1, () => process.stdout);
  const err = descriptorWriter(2, () => process.stderr);
  return {
    isStdoutTTY: () => isTerminal(1),
    out: out.write,
    err: err.write,
    isPending: () => out.isPending() || err.isPending(),
  };
}

function descriptorWriter(fd: 1 | 2, stream: () => NodeJS.WriteStream) {
  let taken: NodeJS.WriteStream | undefined;
  const takeOver = (rest: string | Uint8Array) => {
    taken = stream();
    taken.on('error', ignoreClosedPipe);
    taken.write(rest);
  };
  return {
    write(text: string): void {
      if (taken) {
        taken.write(text);
        return;
      }
      let written = 0;
      let bytes: Buffer | undefined;
      try {
        written = writeSync(fd, text);
        if (written === Buffer.byteLength(text)) return;
        // A pipe that takes part of it: the rest as bytes, from where the write stopped.
        bytes = Buffer.from(text);
        while (written < bytes.length) written += writeSync(fd, bytes, written);
      } catch {
        takeOver(bytes ? bytes.subarray(written) : text);
      }
    },
    isPending: () => (taken?.writableLength ?? 0) > 0,
  };
}

/**
 * What process.stdout.isTTY would say, without making the stream. Only a character device can be
 * a terminal: a pipe or a file is told by one fstat, without loading the tty module (it loads net).
 */
function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  const { isatty } = createRequire(import.meta.url)('node:tty') as typeof import('node:tty');
  return isatty(fd);
}
