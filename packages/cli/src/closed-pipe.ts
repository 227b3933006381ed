/**
 * The 'error' handler of process.stdout and process.stderr: a reader that stops early
 * (`opsbook … | head`) closes the pipe, or the terminal goes away (a dropped ssh session to the
 * runner machine: EIO after SIGHUP), and the command carries on (a run must not stop half-way
 * because nobody reads its progress) with nothing more written. Any other error is thrown. In a
 * file of its own, which imports nothing: bin.js uses it and must stay tiny.
 */
export function ignoreClosedPipe(error: NodeJS.ErrnoException): void {
  if (!CLOSED.has(String(error.code))) throw error;
}

const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'EIO']);
