import { chmod, chown, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, type SshTarget, type Transport } from '../src/index.js';

/*
 * The known_hosts a run reads is named by opsbook.yaml, which `--config` (or an opsbook.yaml in a
 * folder the engineer owns) chooses. Under a service account (`sudo -u opsbook opsbook run`), a
 * file the engineer wrote must not vouch for host keys: it is refused unless only the user running
 * opsbook or root can write it and every folder above it. These tests run as root (like CI) and
 * play the engineer with uid 65534.
 */

const ENGINEER_UID = 65534;
let host: Sshd;
const opened: Transport[] = [];

const target = (h: Sshd): SshTarget => ({
  name: h.host,
  host: h.host,
  port: h.port,
  user: h.user,
  identityFile: h.clientKeyPath,
});

beforeAll(async () => {
  expect(process.getuid?.(), 'these tests chown files to another user: run them as root').toBe(0);
  [host] = (await startSshdHosts(1)) as [Sshd];
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await host?.dispose();
});

/** A folder with a known_hosts listing the host's real key; `owner`/`mode` applied to `which`. */
async function knownHostsIn(name: string): Promise<{ folder: string; file: string }> {
  const folder = path.join(host.dir, name);
  await mkdir(folder, { mode: 0o755 });
  await chmod(folder, 0o755);
  const file = path.join(folder, 'known_hosts');
  await writeFile(file, `${host.knownHostsLine}\n`, { mode: 0o644 });
  await chmod(file, 0o644);
  return { folder, file };
}

async function refusal(knownHostsFile: string, acceptNewHostKeys = false) {
  const before = host.countLogins();
  const error = await connectSsh(target(host), { knownHostsFile, acceptNewHostKeys }).then(
    (t) => {
      opened.push(t);
      return undefined;
    },
    (e: unknown) => e,
  );
  // Refused before any key exchange: sshd saw no login.
  expect(host.countLogins()).toBe(before);
  return error as { kind?: string; code?: string; message?: string } | undefined;
}

describe('a known_hosts file someone else can write vouches for no host key', () => {
  it("refuses a known_hosts owned by another user (the engineer's, through --config), though it lists the host's key", async () => {
    const { file } = await knownHostsIn('engineer-owned');
    await chown(file, ENGINEER_UID, ENGINEER_UID);
    const error = await refusal(file);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'KNOWN_HOSTS_UNSAFE' });
    expect(error?.message).toContain(`the known_hosts file ${file} is not trusted`);
    expect(error?.message).toContain(`is owned by uid ${ENGINEER_UID}`);
    expect(error?.message).toContain('No host was connected to');
  });

  it('refuses a known_hosts that its group or others may write', async () => {
    for (const mode of [0o666, 0o664]) {
      const { file } = await knownHostsIn(`shared-${mode.toString(8)}`);
      await chmod(file, mode);
      const error = await refusal(file);
      expect(error).toMatchObject({ code: 'KNOWN_HOSTS_UNSAFE' });
      expect(error?.message).toContain(`(mode ${mode.toString(8)})`);
    }
  });

  it('refuses a root-owned known_hosts in a folder the engineer owns (they could swap the file), and does not add a key there with accept-new', async () => {
    const { folder, file } = await knownHostsIn('engineer-folder');
    await chown(folder, ENGINEER_UID, ENGINEER_UID);
    const error = await refusal(file);
    expect(error).toMatchObject({ code: 'KNOWN_HOSTS_UNSAFE' });
    expect(error?.message).toContain(`is not trusted: ${folder} is owned by uid ${ENGINEER_UID}`);

    // A known_hosts that does not exist yet, in a world-writable folder: accept-new would create
    // it where the engineer can edit it later; refused, and nothing is written.
    const open = path.join(host.dir, 'open-folder');
    await mkdir(open);
    await chmod(open, 0o777);
    const missing = path.join(open, 'known_hosts');
    expect(await refusal(missing, true)).toMatchObject({ code: 'KNOWN_HOSTS_UNSAFE' });
    expect(await readFile(missing, 'utf8').catch(() => 'absent')).toBe('absent');
  });

  it("connects with a known_hosts only root can write, reached through a symlink, under root's sticky /tmp", async () => {
    const { folder, file } = await knownHostsIn('root-only');
    const link = path.join(folder, 'link');
    await symlink(file, link);
    const t = await connectSsh(target(host), { knownHostsFile: link });
    opened.push(t);
    expect((await t.exec({ command: 'echo trusted' })).stdout).toBe('trusted\n');
  });

  it("judges the file a symlink points to: a link of root to the engineer's file is refused", async () => {
    const { file } = await knownHostsIn('link-to-engineer');
    await chown(file, ENGINEER_UID, ENGINEER_UID);
    const link = path.join(host.dir, 'root-link-known_hosts');
    await symlink(file, link);
    const error = await refusal(link);
    expect(error).toMatchObject({ code: 'KNOWN_HOSTS_UNSAFE' });
    expect(error?.message).toContain(
      `the known_hosts file ${link} (${file}) is not trusted: ${file} is owned by uid ${ENGINEER_UID}`,
    );
  });
});
