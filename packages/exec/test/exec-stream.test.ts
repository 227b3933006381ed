import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canExecStream,
  connectSsh,
  createLocalTransport,
  execStream,
  type Transport,
} from '../src/index.js';

let sshd: Sshd;
let ssh: Transport;

beforeAll(async () => {
  sshd = await startSshd();
  const knownHosts = path.join(sshd.dir, 'known_hosts_stream');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
  ssh = await connectSsh(
    {
      name: 'stream-host',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identityFile: sshd.clientKeyPath,
    },
    { knownHostsFile: knownHosts },
  );
});
afterAll(async () => {
  await ssh?.close();
  await sshd?.dispose();
});

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const transports = () => [['local', createLocalTransport()] as const, ['ssh', ssh] as const];

describe('execStream', () => {
  it('streams every byte value unchanged and delivers env values from the env block', async () => {
    for (const [, transport] of transports()) {
      expect(canExecStream(transport)).toBe(true);
      // 4 MiB cycling through all 256 byte values, then the secret from the env block
      const run = execStream(transport, {
        command: `i=0; while [ "$i" -lt 16384 ]; do printf "$BYTES"; i=$((i+1)); done; printf '%s' "$SECRET"`,
        env: {
          BYTES: Array.from({ length: 256 }, (_, b) => `\\${b.toString(8).padStart(3, '0')}`).join(
            '',
          ),
          SECRET: 's3cret value',
        },
      });
      const [bytes, exit] = await Promise.all([collect(run.stdout), run.done]);
      expect(exit.exitCode).toBe(0);
      const expected = Buffer.concat([
        ...Array.from({ length: 16384 }, () =>
          Buffer.from(Array.from({ length: 256 }, (_, b) => b)),
        ),
        Buffer.from('s3cret value'),
      ]);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(
        createHash('sha256').update(expected).digest('hex'),
      );
    }
  });

  it('reports the exit status and stderr of a failing command', async () => {
    for (const [, transport] of transports()) {
      const run = execStream(transport, { command: 'echo oops >&2; exit 7' });
      const [bytes, exit] = await Promise.all([collect(run.stdout), run.done]);
      expect(bytes.length).toBe(0);
      expect(exit).toMatchObject({ exitCode: 7, stderr: 'oops\n' });
    }
  });

  it('aborting kills the remote command and rejects with InterruptedError', async () => {
    for (const [, transport] of transports()) {
      const controller = new AbortController();
      const run = execStream(transport, { command: 'cat /dev/zero', signal: controller.signal });
      let seen = 0;
      await new Promise<void>((resolve) => {
        run.stdout.on('data', (d: Buffer) => {
          seen += d.length;
          if (seen > 1024 * 1024) resolve();
        });
      });
      run.stdout.on('error', () => {});
      controller.abort();
      await expect(run.done).rejects.toMatchObject({ kind: 'interrupted' });
    }
  });

  it('holds the command while its stdout is not read, then delivers every byte', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-stream-hold-'));
    try {
      for (const [name, transport] of transports()) {
        // 64 MiB in 64 KiB blocks, counting the blocks written: far more than the pipe, the SSH
        // window, the channel's queue and the sockets' buffers hold together.
        const counter = path.join(dir, `${name}.count`);
        const run = execStream(transport, {
          command: `b=$(head -c 65536 /dev/zero | tr '\\0' x); i=0; while [ "$i" -lt 1024 ]; do printf %s "$b"; i=$((i+1)); echo "$i" > "$COUNTER"; done`,
          env: { COUNTER: counter },
        });
        let settled = false;
        run.done.then(
          () => {
            settled = true;
          },
          () => {
            settled = true;
          },
        );
        // Nobody reads: wait until the command has stopped writing (the same count three times
        // in a row, 200 ms apart; bounded), then look.
        let last = -1;
        let same = 0;
        for (let i = 0; i < 100 && same < 2; i++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          const now = Number((await readFile(counter, 'utf8').catch(() => '0')).trim() || 0);
          same = now === last && now > 0 ? same + 1 : 0;
          last = now;
        }
        expect(last).toBeGreaterThan(0);
        expect(last).toBeLessThan(512); // it waits, with less than half of its output written
        expect(settled).toBe(false);
        const [bytes, exit] = await Promise.all([collect(run.stdout), run.done]);
        expect(exit.exitCode).toBe(0);
        expect(bytes.length).toBe(1024 * 65536);
        expect(bytes.every((b) => b === 0x78)).toBe(true); // all 'x'
        expect((await readFile(counter, 'utf8')).trim()).toBe('1024');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('feeds an input stream to the command after the env block, every byte, with backpressure', async () => {
    for (const [, transport] of transports()) {
      // 24 MiB of every byte value (more than any pipe or SSH window holds), hashed on the host.
      const block = Buffer.from(Array.from({ length: 65536 }, (_, i) => i % 256));
      const input = Readable.from(
        (function* () {
          for (let i = 0; i < 384; i++) yield block;
        })(),
      );
      const run = execStream(transport, {
        command: 'printf "%s " "$SECRET"; sha256sum | cut -d" " -f1',
        env: { SECRET: "it's\nsecret" },
        stdin: input,
      });
      const [out, exit] = await Promise.all([collect(run.stdout), run.done]);
      expect(exit.exitCode).toBe(0);
      const expected = createHash('sha256');
      for (let i = 0; i < 384; i++) expected.update(block);
      expect(out.toString()).toBe(`it's\nsecret ${expected.digest('hex')}\n`);
    }
  });

  it('ends the stdin of the command and rejects with the error of the input when it fails', async () => {
    for (const [, transport] of transports()) {
      const input = Readable.from(
        (async function* () {
          yield Buffer.alloc(1024 * 1024, 1);
          throw new Error('the archive could not be read');
        })(),
      );
      const run = execStream(transport, {
        command: 'n=$(wc -c); echo "got $n bytes" >&2',
        stdin: input,
      });
      run.stdout.on('error', () => {});
      await expect(run.done).rejects.toThrow('the archive could not be read');
    }
  });

  it('refuses a transport that cannot stream', () => {
    const plain: Transport = {
      host: 'x',
      exec: async () => {
        throw new Error('no');
      },
      copyFile: async () => {},
      writeFile: async () => {},
      close: async () => {},
    };
    expect(canExecStream(plain)).toBe(false);
    expect(() => execStream(plain, { command: 'true' })).toThrow(/cannot stream bytes/);
  });
});
