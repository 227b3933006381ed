import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
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
