import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startLiveStatus } from './live-status.js';

/** A terminal-like stream that records what reaches it, one entry per write to the "device". */
function recordingStream(): { stream: NodeJS.WriteStream; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      writes.push(String(chunk));
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { columns: 80, rows: 24 });
  return { stream, writes };
}

describe('startLiveStatus', () => {
  it('erases the block, writes the lines and draws the block again in one write', () => {
    const { stream, writes } = recordingStream();
    let n = 0;
    const status = startLiveStatus(stream, () => `status ${++n}`, 60_000);
    const before = writes.length;
    status.above(() => {
      stream.write('interrupted: no new step\n');
    });
    expect(writes.length).toBe(before + 1);
    const [one] = writes.slice(before);
    expect(one).toContain('interrupted: no new step\n');
    expect(one?.indexOf('status 2')).toBeGreaterThan(one?.indexOf('interrupted') ?? -1);
    status.stop();
  });
});
