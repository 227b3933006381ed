import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { connectSsh, type Transport } from '@opsbook/exec';
import type { Postgres } from '@opsbook/testkit/postgres';
import type { Sshd } from '@opsbook/testkit/sshd';

/** An SSH transport to a testkit sshd, its host key pinned in a known_hosts file in `dir`. */
export async function connectTestHost(host: Sshd, dir: string, name = 'web-1'): Promise<Transport> {
  const knownHosts = path.join(dir, `known_hosts-${name}`);
  await writeFile(knownHosts, `${host.knownHostsLine}\n`);
  return connectSsh(
    { name, host: host.host, port: host.port, user: host.user, identityFile: host.clientKeyPath },
    { knownHostsFile: knownHosts },
  );
}

/** The transport, its byte-stream exec's request passed through `change` first. */
function withStreamRequest(
  transport: Transport,
  change: (request: { stdin?: Readable }) => { stdin?: Readable },
): Transport {
  return new Proxy(transport, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      // The byte-stream exec is the transport's only symbol-keyed function (exec-stream.ts).
      if (typeof key !== 'symbol' || typeof value !== 'function') return value;
      return (request: { stdin?: Readable }) => value.call(target, change(request));
    },
  });
}

/**
 * The transport, with `onInputEnd` called as soon as a streamed command's stdin (a restore's
 * archive, its end included) has all gone into the channel: the moment a stop finds the whole
 * archive sent. Everything else is the real transport's own.
 */
export function onWholeArchiveSent(transport: Transport, onInputEnd: () => void): Transport {
  return withStreamRequest(transport, (request) => {
    request.stdin?.once('end', onInputEnd);
    return request;
  });
}

/**
 * The transport, with `onLast` called once a streamed command's stdin (a restore's archive and
 * its commit line) has all been read, but before its last chunk goes into the channel: what the
 * runner sees as the whole archive sent, while the host cannot yet have read its end (so it cannot
 * have finished). A test freezing the host there knows no exit status can come.
 */
export function beforeLastChunk(transport: Transport, onLast: () => void): Transport {
  return withStreamRequest(transport, (request) => {
    if (!request.stdin) return request;
    let held: Buffer | undefined;
    const holding = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (held) this.push(held);
        held = chunk;
        done();
      },
      flush(done) {
        onLast();
        if (held) this.push(held);
        done();
      },
    });
    return { ...request, stdin: request.stdin.pipe(holding) };
  });
}

/** A database of the testkit's PostgreSQL, reached over TCP with the password. */
export const pgTarget = (pg: Postgres, database: string) => ({
  database,
  host: pg.host,
  port: pg.port,
  user: pg.user,
  password: pg.password,
});

/** The first line of `tool --version` on this machine (the tests' host): what a manifest records. */
export const versionLineOf = (tool: string) =>
  execFileSync(tool, ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
