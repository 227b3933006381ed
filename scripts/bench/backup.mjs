#!/usr/bin/env node
// Throughput of a file backup (issue 7): a 1 GiB tree streamed over loopback SSH, in the same run,
//   opsbook   backupFiles(): tar on the host, bytes over ONE ssh2 channel, sha256 + fsync into the
//             repository (compression none, so both sides move the same bytes)
//   openssh   `ssh host tar -C / -cf - <tree> | cat > /dev/null` (OpenSSH client)
// One real sshd on 127.0.0.2 (testkit), logged into as root. Both sides pay root's login shell
// (/root/.bashrc runs pyenv): opsbook twice (a tool probe, then tar), OpenSSH once, so the
// opsbook figure is end to end and slightly pessimistic. BENCH_RUNS rounds (default 3),
// interleaved; the median is reported. Needs the packages built (pnpm build).
//
//   node scripts/bench/backup.mjs            (BENCH_MIB=1024 by default)
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const { connectSsh } = await import('@opsbook/exec');
const { backupFiles } = await import('@opsbook/backup');
const { startSshdHosts } = await import('@opsbook/testkit/sshd');
const { makeTempDir } = await import('@opsbook/testkit/temp');

const MIB = Number(process.env.BENCH_MIB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = 8;

const sh = (command) =>
  new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command}: exit ${code}`)),
    );
  });

const temp = await makeTempDir('opsbook-bench-backup-');
const [host] = await startSshdHosts(1);
let transport;
try {
  const tree = path.join(temp.dir, 'tree');
  await mkdir(tree);
  for (let i = 0; i < FILES; i++)
    await sh(`head -c ${(MIB / FILES) * 1048576} /dev/urandom > ${tree}/part-${i}.bin`);
  const knownHosts = path.join(temp.dir, 'known_hosts');
  await writeFile(knownHosts, `${host.knownHostsLine}\n`);
  transport = await connectSsh(
    {
      name: 'bench',
      host: host.host,
      port: host.port,
      user: host.user,
      identityFile: host.clientKeyPath,
    },
    { knownHostsFile: knownHosts },
  );
  const results = { opsbook: [], openssh: [] };
  for (let round = 0; round < RUNS; round++) {
    const repository = path.join(temp.dir, `repo-${round}`);
    let t = performance.now();
    await backupFiles({ transport, repository, paths: [tree], compression: 'none' });
    results.opsbook.push(MIB / ((performance.now() - t) / 1000));
    await rm(repository, { recursive: true, force: true });
    t = performance.now();
    await sh(
      `ssh -i ${host.clientKeyPath} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -p ${host.port} ${host.user}@${host.host} tar -C / -cf - ${tree.slice(1)} | cat > /dev/null`,
    );
    results.openssh.push(MIB / ((performance.now() - t) / 1000));
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const opsbook = median(results.opsbook);
  const openssh = median(results.openssh);
  console.log(
    JSON.stringify(
      {
        treeMiB: MIB,
        runs: RUNS,
        opsbookMiBps: +opsbook.toFixed(1),
        opensshMiBps: +openssh.toFixed(1),
        ratio: +(opsbook / openssh).toFixed(2),
        all: results,
      },
      null,
      2,
    ),
  );
} finally {
  await transport?.close();
  await host.dispose();
  await temp.remove();
}
