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

const gathered = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('startLiveStatus', () => {
  it('erases the block, writes the lines and draws the block again in one write', async () => {
    const { stream, writes } = recordingStream();
    let n = 0;
    const status = startLiveStatus(stream, () => `status ${++n}`, 60_000);
    const before = writes.length;
    status.above(() => {
      stream.write('interrupted: no new step\n');
    });
    await gathered();
    expect(writes.length).toBe(before + 1);
    const [one] = writes.slice(before);
    expect(one).toContain('interrupted: no new step\n');
    expect(one?.indexOf('status 2')).toBeGreaterThan(one?.indexOf('interrupted') ?? -1);
    status.stop();
  });

  it('draws the block once under a burst of lines, not once a line, every line in order', async () => {
    const { stream, writes } = recordingStream();
    let renders = 0;
    const status = startLiveStatus(stream, () => `status ${++renders}`, 60_000);
    const before = writes.length;
    for (let i = 0; i < 5000; i++) status.above(() => stream.write(`line ${i}\n`));
    await gathered();
    // The first draw, then one for the whole burst (a draw a line made a chatty step ~100×
    // slower on a terminal).
    expect(renders).toBe(2);
    const text = writes.slice(before).join('');
    expect(text.match(/line \d+/g)).toEqual(Array.from({ length: 5000 }, (_, i) => `line ${i}`));
    expect(text.lastIndexOf('status 2')).toBeGreaterThan(text.lastIndexOf('line 4999'));
    status.stop();
  });

  it('writes the gathered lines and the last block when stopped during a burst', () => {
    const { stream, writes } = recordingStream();
    const status = startLiveStatus(stream, () => 'status', 60_000);
    status.above(() => stream.write('last words\n'));
    status.stop();
    const text = writes.join('');
    expect(text).toContain('last words\n');
    expect(text.lastIndexOf('status')).toBeGreaterThan(text.indexOf('last words'));
  });
});
