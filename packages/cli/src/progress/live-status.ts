import { createLogUpdate } from 'log-update';

/**
 * A block redrawn in place at the bottom of a terminal, with lines written above it. log-update
 * does the cursor work; every line above goes through `write`, which must end it with a newline
 * and write to the same stream (it is corked meanwhile, so the erase, the lines and the redrawn
 * block reach the terminal as one write).
 */
export interface LiveStatus {
  /** Writes lines above the block: the block is erased, `write` runs, the block comes back. */
  above(write: () => void): void;
  /** Draws the block again (the events changed it, or the clock moved). */
  redraw(): void;
  /** Draws the block a last time and leaves it in the scrollback; no more redraws. */
  stop(): void;
}

/**
 * How long lines written above the block are gathered before it is drawn again: a step printing
 * thousands of lines a second had the block erased, re-rendered and redrawn for every line, which
 * held the step's output (and so the step, against its timeout) back ~100× on a terminal.
 */
const ABOVE_BATCH_MS = 40;

/**
 * Starts drawing `render()` on `stream` and redraws it every `everyMs` so the elapsed time moves
 * while a slow step runs (the timer does not keep the process alive).
 */
export function startLiveStatus(
  stream: NodeJS.WriteStream,
  render: (columns: number) => string,
  everyMs = 1000,
): LiveStatus {
  const log = createLogUpdate(stream);
  const columns = () => stream.columns || 80;
  let isStopped = false;
  /** Lines are being gathered above an erased block (the stream corked until it is redrawn). */
  let gathering: NodeJS.Timeout | undefined;
  const endGathering = () => {
    if (gathering === undefined) return;
    clearTimeout(gathering);
    gathering = undefined;
    try {
      log(render(columns()));
    } finally {
      stream.uncork();
    }
  };
  const redraw = () => {
    if (!isStopped && gathering === undefined) log(render(columns()));
  };
  const timer = setInterval(redraw, everyMs);
  timer.unref();
  // A process that exits now (a second Ctrl-C) still writes what it gathered, and its notice:
  // a terminal's stderr is written synchronously, so the uncork below reaches it before exit.
  process.on('exit', endGathering);
  redraw();
  return {
    above(write) {
      if (isStopped) return write();
      // One write to the terminal, not three: erased, the lines, the block again. Between separate
      // writes a terminal (or a tmux capture) could show the lines with no block under them. The
      // lines of the next ABOVE_BATCH_MS go into the same write (the timer keeps the process
      // alive until they are out).
      if (gathering === undefined) {
        stream.cork();
        log.clear();
        gathering = setTimeout(endGathering, ABOVE_BATCH_MS);
      }
      write();
    },
    redraw,
    stop() {
      if (isStopped) return;
      clearInterval(timer);
      process.removeListener('exit', endGathering);
      if (gathering !== undefined) endGathering();
      else log(render(columns()));
      isStopped = true;
      log.done();
    },
  };
}
