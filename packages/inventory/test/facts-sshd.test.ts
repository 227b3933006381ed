import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectSsh, type Transport } from '@opsbook/exec';
import { type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeFleetStatistics,
  FACTS_COLLECTOR,
  type HostFacts,
  parseHostFacts,
  readFleetStatistics,
  renderFleetStatisticsCsv,
  renderFleetStatisticsJson,
  renderFleetStatisticsTable,
  validateHostFacts,
} from '../src/index.js';

/*
 * Issue 6, "Done means": facts collected over a real OpenSSH sshd by the SSH transport the runner
 * uses. The sshd runs on this machine, so the facts must agree with the tools run directly.
 */

let tmp: { dir: string; remove: () => Promise<void> };
let hosts: Sshd[] = [];
const transports: Transport[] = [];
let facts: HostFacts[] = [];
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

async function collect(ssh: Transport, env?: Record<string, string>): Promise<HostFacts> {
  const result = await ssh.exec({ command: FACTS_COLLECTOR, ...(env ? { env } : {}) });
  expect(result.exitCode).toBe(0);
  return parseHostFacts(ssh.host, result.stdout);
}

beforeAll(async () => {
  tmp = await makeTempDir('opsbook-facts-sshd-');
  const home = path.join(tmp.dir, 'home');
  await mkdir(home);
  // Root's real ~/.bashrc (pyenv) would cost seconds per command: sessions get an empty HOME.
  hosts = await startSshdHosts(2, { extraConfig: [`SetEnv HOME=${home}`] });
  const knownHosts = path.join(tmp.dir, 'known_hosts');
  await writeFile(knownHosts, hosts.map((h) => `${h.knownHostsLine}\n`).join(''));
  for (const [i, h] of hosts.entries()) {
    transports.push(
      await connectSsh(
        {
          name: `h${i + 1}`,
          host: h.host,
          port: h.port,
          user: h.user,
          identityFile: h.clientKeyPath,
        },
        { knownHostsFile: knownHosts },
      ),
    );
  }
  facts = await Promise.all(transports.map((t) => collect(t)));
});

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await Promise.all(hosts.map((h) => h.dispose()));
  await tmp?.remove();
});

describe('facts collected over a real sshd agree with the tools run directly', () => {
  it('reads every fact, and the facts validate against hostFactsSchema', () => {
    for (const f of facts) {
      expect(f.unknown).toEqual([]);
      expect(validateHostFacts(f), JSON.stringify(validateHostFacts.errors)).toBe(true);
    }
    expect(facts.map((f) => f.host)).toEqual(['h1', 'h2']);
  });

  it('counts the cores nproc counts', () => {
    for (const f of facts) expect(f.cpu?.cores).toBe(Number(run('nproc', []).trim()));
  });

  it('reads the MemTotal and SwapTotal that free -k prints', () => {
    const free = run('free', ['-k']).split('\n');
    const col = (label: string) =>
      Number(
        free
          .find((l) => l.startsWith(label))
          ?.trim()
          .split(/\s+/)[1],
      );
    for (const f of facts) {
      expect(f.memory?.totalKiB).toBe(col('Mem:'));
      expect(f.memory?.swapTotalKiB).toBe(col('Swap:'));
    }
  });

  it('gives the size of every filesystem that df -Pk gives', () => {
    const rows = run('df', ['-Pk'])
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/));
    const sizeOf = new Map(rows.map((r) => [r.slice(5).join(' '), Number(r[1])]));
    for (const f of facts) {
      expect(f.filesystems.length).toBeGreaterThan(0);
      for (const fs of f.filesystems) expect(fs.sizeKiB, fs.mount).toBe(sizeOf.get(fs.mount));
    }
  });

  it('reads the kernel uname prints and the OS of /etc/os-release', async () => {
    const osRelease = await readFile('/etc/os-release', 'utf8');
    for (const f of facts) {
      expect(f.kernel).toEqual({
        name: run('uname', ['-s']).trim(),
        release: run('uname', ['-r']).trim(),
        machine: run('uname', ['-m']).trim(),
      });
      expect(osRelease).toContain(`ID=${f.os?.id}`);
    }
  });

  it('sees each sshd listening on its own loopback address and port', () => {
    for (const [i, f] of facts.entries()) {
      const h = hosts[i] as Sshd;
      expect(f.services).toContainEqual(expect.objectContaining({ address: h.host, port: h.port }));
      expect(f.interfaces.some((x) => x.addresses.some((a) => a.address === '127.0.0.1'))).toBe(
        true,
      );
    }
  });

  it('adds the two hosts up into statistics that round-trip through JSON and render as table and CSV', () => {
    const stats = computeFleetStatistics(facts, { groups: { pair: ['h1', 'h2'], one: ['h1'] } });
    expect(stats.groups.map((g) => [g.group, g.hosts])).toEqual([
      ['all', 2],
      ['one', 1],
      ['pair', 2],
    ]);
    const all = stats.groups[0];
    expect(all?.cores).toBe(2 * Number(run('nproc', []).trim()));
    expect(all?.memoryTotalKiB).toBe(2 * (facts[0]?.memory?.totalKiB ?? 0));
    expect(readFleetStatistics('stats.json', renderFleetStatisticsJson(stats))).toEqual(stats);
    expect(renderFleetStatisticsTable(stats)).toMatch(/^GROUP\s+HOSTS/);
    expect(renderFleetStatisticsCsv(stats).split('\r\n')[1]).toMatch(/^all,2,0,/);
  });
});

describe('a minimal host over sshd', () => {
  it('a BusyBox-only host (no lsblk, no ss, no iproute2 of its own) still gives valid facts', async () => {
    const bin = path.join(tmp.dir, 'busybox-bin');
    await mkdir(bin);
    for (const a of run('busybox', ['--list']).trim().split('\n'))
      await symlink('/usr/bin/busybox', path.join(bin, a));
    const f = await collect(transports[0] as Transport, { PATH: bin });
    expect(validateHostFacts(f), JSON.stringify(validateHostFacts.errors)).toBe(true);
    expect(f.cpu?.cores).toBe(Number(run('nproc', []).trim()));
    expect(f.memory?.totalKiB).toBe(facts[0]?.memory?.totalKiB);
  });

  it('a host without any tool gives null facts with their reasons, still valid', async () => {
    const bin = path.join(tmp.dir, 'bare-bin');
    await mkdir(bin);
    await symlink('/bin/sh', path.join(bin, 'sh'));
    const f = await collect(transports[0] as Transport, { PATH: bin });
    expect(validateHostFacts(f), JSON.stringify(validateHostFacts.errors)).toBe(true);
    const reasons = new Map(f.unknown.map((u) => [u.fact, u.reason]));
    expect(reasons.get('kernel')).toContain('uname');
    expect(reasons.get('filesystems')).toContain('df');
    expect(f.kernel).toBeNull();
    expect(f.filesystems).toEqual([]);
  });
});
