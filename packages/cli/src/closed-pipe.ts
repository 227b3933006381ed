/**
 * The 'error' handler of process.stdout and process.stderr: a reader that stops early
 * (`opsbook … | head`) closes the pipe, and the command carries on (a run must not stop half-way
 * because nobody reads its progress) with nothing more written. Any other error is thrown. In a
 * file of its own, which imports nothing: bin.js uses it and must stay tiny.
 */
export function ignoreClosedPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
}
