#!/usr/bin/env node
// Backups and restores, opsbook against the OpenSSH pipeline that does the same job, in the same
// run (issue 18). What is timed for opsbook is what its user waits for: `opsbook run` of a
// one-step runbook (backup.postgres, backup.files, backup.restore with the `with:` keys of the
// shipped data-backup / data-restore / file-restore runbooks and the actions' defaults), from
// its fork to its exit (rusage.py): Node start, approval check, SSH handshake, the step, the
// journal. The plan and approval are made first, untimed.
//
//   pg-backup      opsbook: pg_dump -Fc on the host, per-table stats in the dump's snapshot, into
//                  the repository (sha256, fsync, manifest)
//                  OpenSSH: ssh host pg_dump -Fc > FILE && sync FILE
//   pg-restore     opsbook: the repository's dump restored into an empty database, then every
//                  table compared with the manifest
//                  OpenSSH: ssh host pg_restore --dbname=DB < FILE (streamed)
//   files-backup   opsbook: tar on the host, compression auto (zstd on this host), into the repository
//                  OpenSSH: ssh host 'tar -c TREE | zstd -q -c' > FILE && sync FILE (same compression)
//   files-restore  opsbook: the repository's archive extracted into an absent folder
//                  OpenSSH: ssh host 'mkdir -p DIR && tar -x --zstd -C DIR' < FILE (streamed)
//   floor          opsbook: one `run: true` step; OpenSSH: ssh host true (what a run costs before
//                  any data moves: Node, approval check, handshake, login shell, journal)
//   ssh2 floor     (a third side of the backups and restores) ssh2-download-floor.mjs: the same
//                  host command through the ssh2 opsbook bundles into a new file, sha256, fsync,
//                  and nothing else; for a restore ssh2-upload-floor.mjs: the archive from its
//                  file into the same host command, sha256 checked on the way. Not the target's
//                  peer: its own ratio to OpenSSH says what any client on that library can show
//                  on this machine, and opsbook ÷ floor what opsbook adds.
//   file-restore-runbook, data-restore-runbook (not run by default): the shipped runbooks end to
//                  end (their pre- and post-checks included) against the same OpenSSH pipelines
//
// Every OpenSSH command is a fresh `ssh` (it pays its handshake) with the cipher ssh2 negotiates
// (the same cipher; the ratio is against it) and, as a second column, OpenSSH's default cipher.
// Both sides write a file (the OpenSSH side fsyncs it with `sync FILE`, as opsbook fsyncs its
// archive). The order of the sides alternates per round; each size gets its ratio and PASS/FAIL
// (ratio = OpenSSH time ÷ opsbook time, i.e. opsbook's throughput relative to OpenSSH's;
// target ≥ 0.8). The load average is printed with every row: on a shared machine compare the
// ratios of one run, not seconds across runs. Needs root and the packages built (pnpm build).
//
//   node scripts/bench/backup.mjs
//   BENCH_SIZES=64,512,1024 BENCH_RUNS=3 BENCH_OPS=pg-backup,pg-restore node scripts/bench/backup.mjs
//   BENCH_CLI=/path/to/other/build/dist/bin.js …   (another build of the CLI)
//   BENCH_CLI_BEFORE=/path/to/old/dist/bin.js …  (a second build, as one more side of every
//                               round: its ratio is "ratio before"; each build restores its own
//                               backups)
//   BENCH_DEFAULT_CIPHER=0 …   (skip the OpenSSH default-cipher column)
//   BENCH_JSON=out.json …      (every sample, as JSON)
//   BENCH_SSH2_FLOOR=0 …       (skip the ssh2 floor side of the backups and restores)
//   BENCH_PROFILE=0 …          (skip the table-stats profile: md5, rowhash and COPY timed on the
//                               server, with this checkout's @opsbook/backup)
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeDatabase, makeTree, openBackupWorld, root } from './backup-world.mjs';
import {
  descendantsOf,
  isStopping,
  removedEnvNote,
  runMeasured,
  sleep,
  stopOnSignals,
} from './bench-processes.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '64,512').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const OPS = (
  process.env.BENCH_OPS ?? 'floor,pg-backup,pg-restore,files-backup,files-restore'
).split(',');
const DEFAULT_CIPHER = process.env.BENCH_DEFAULT_CIPHER !== '0';
const PROFILE = process.env.BENCH_PROFILE !== '0';
const SSH2_FLOOR = process.env.BENCH_SSH2_FLOOR !== '0';
const FLOOR_SCRIPT = path.join(import.meta.dirname, 'ssh2-download-floor.mjs');
const UPLOAD_FLOOR_SCRIPT = path.join(import.meta.dirname, 'ssh2-upload-floor.mjs');
const TARGET = 0.8;
const TIMEOUT_MS = 3 * 3600_000;

const loadNow = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const CLOCK_TICKS =
  Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of a process and the children it reaped (utime, stime, cutime, cstime). */
async function reapedCpu(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((a, b) => a + Number(b), 0) / CLOCK_TICKS;
}

/** The CPU of the servers: sshd with its ended sessions (the host's commands), PostgreSQL's ended backends. */
async function serverCpu(world) {
  // A session ends a moment after its client: wait (bounded) until sshd has none left.
  for (let i = 0; i < 500 && (await descendantsOf(world.host.pid)).length > 0; i++) await sleep(10);
  return (await reapedCpu(world.host.pid)) + (await reapedCpu(world.pg.pid));
}

/**
 * Runs argv under rusage.py in its own process group: wall (from the wrapper's fork of argv to
 * the end of its wait4), client CPU (to the microsecond), and all CPU (the client's, plus what
 * sshd's sessions and PostgreSQL's backends used meanwhile), in seconds.
 */
async function timed(world, argv, what) {
  // Untimed: what the previous sample left dirty is written back now, not during this one.
  execFileSync('sync');
  const load = os.loadavg()[0];
  const server = await serverCpu(world);
  const r = await runMeasured(
    argv,
    { cwd: world.dir, env: world.env },
    TIMEOUT_MS,
    path.join(world.dir, 'time.out'),
  );
  if (isStopping()) throw new Error('stopped');
  if (r.timedOut || r.code !== 0)
    throw new Error(
      `${what} failed (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`,
    );
  const allCpu = r.cpu + (await serverCpu(world)) - server;
  return { wall: r.wall, cpu: r.cpu, allCpu, load, stdout: r.stdout };
}

/** `opsbook run` of an approval: its wall, and its step's duration and result from the journal. */
async function runOpsbook(world, runbook, params, bin = world.bin) {
  const argv = await world.approve(runbook, params, bin);
  const sample = await timed(world, argv, `opsbook run ${runbook}`);
  const doc = JSON.parse(sample.stdout);
  if (doc.status !== 'ok') throw new Error(`${runbook} ended ${doc.status}: ${sample.stdout}`);
  const journal = (await readFile(doc.journal.path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const ends = journal.filter((e) => e.type === 'step-end');
  const main = ends.find((e) => ['restore', 'dump', 'files', 'noop'].includes(e.step));
  return {
    wall: sample.wall,
    cpu: sample.cpu,
    allCpu: sample.allCpu,
    load: sample.load,
    step: main ? main.durationMs / 1000 : undefined,
    steps: Object.fromEntries(ends.map((e) => [e.step, e.durationMs / 1000])),
    result: main?.result,
  };
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Restored trees, removed after the last round of their row, not between samples: on this
 * ext4, writing 512 MiB right after deleting 512 MiB (and syncing) cost `tar -x` 0.5–1.3 s more
 * system time in 2 of 6 tries (2026-12-05 21:13 UTC), which fell on whichever side came next.
 */
const restoredTrees = [];
async function removeRestoredTrees() {
  for (const tree of restoredTrees.splice(0)) await rm(tree, { recursive: true, force: true });
  execFileSync('sync');
}

const repository = (world) => path.join(world.dir, 'state', 'backups', 'backups');

/** The cases of one operation at one size: `opsbook` and one OpenSSH case per cipher. */
function casesOf(op, world, size, fixtures) {
  const { pg } = world;
  const pgEnv = (db) =>
    `PGHOST=${pg.host} PGPORT=${pg.port} PGUSER=${pg.user} PGPASSWORD=${pg.password} PGDATABASE=${db}`;
  const pgParams = { db_host: pg.host, db_port: pg.port };
  const out = path.join(world.dir, 'openssh.out');
  const ciphers = [world.cipher, ...(DEFAULT_CIPHER ? [undefined] : [])];
  const hostname = os.hostname();
  let n = 0;
  const fresh = (prefix) => `${prefix}_${size}_${++n}`;
  const dropAfter = async (db) => pg.psql(`DROP DATABASE IF EXISTS ${db}`);
  const openssh = (build) =>
    ciphers.map((cipher) => ({
      side: cipher ? `openssh ${cipher}` : 'openssh default cipher',
      cipher: cipher ?? 'default',
      async run() {
        const { command, after } = await build(world.ssh(cipher));
        try {
          return await timed(world, ['sh', '-c', command], command);
        } finally {
          await after?.();
        }
      },
    }));
  // A backup's download, done by OpenSSH (`ssh host COMMAND > FILE && sync FILE`) and by the
  // ssh2 floor (ssh2-download-floor.mjs: the same command into a new file, sha256, fsync).
  const download = (remote) => [
    ...openssh(async (ssh) => ({
      command: `${ssh} "${remote}" > ${out} && sync ${out}`,
      after: () => rm(out, { force: true }),
    })),
    ...ssh2Floor(FLOOR_SCRIPT, async () => ({
      command: remote,
      args: { out },
      after: () => rm(out, { force: true }),
    })),
  ];
  // The ssh2 floor side (none with BENCH_SSH2_FLOOR=0): `script` with the host command and the
  // extra arguments `prepare()` gives, then its `after()`.
  const ssh2Floor = (script, prepare) =>
    SSH2_FLOOR
      ? [
          {
            side: 'ssh2 floor',
            async run() {
              const { host } = world;
              const { command, args, after } = await prepare();
              const all = {
                ssh2: world.ssh2,
                host: host.host,
                port: host.port,
                user: host.user,
                keyFile: host.clientKeyPath,
                hostKey: host.hostPublicKey.split(' ')[1],
                command,
                ...args,
              };
              try {
                return await timed(
                  world,
                  [process.execPath, script, JSON.stringify(all)],
                  `ssh2 floor: ${command}`,
                );
              } finally {
                await after?.();
              }
            },
          },
        ]
      : [];
  // A restore's upload by the ssh2 floor (ssh2-upload-floor.mjs: the archive from its file into
  // the same host command, sha256 checked on the way).
  const upload = (archive, prepare) =>
    ssh2Floor(UPLOAD_FLOOR_SCRIPT, async () => ({
      ...(await prepare()),
      args: { file: archive.file, sha256: archive.sha256 },
    }));
  // One case per build of opsbook (BENCH_CLI_BEFORE adds the second); `build(side)` its inputs.
  const opsbook = (runbook, build, extra = {}) =>
    world.builds.map(({ side, bin }) => ({
      side,
      ...extra,
      async run() {
        const { params, after } = await build(side);
        try {
          return await runOpsbook(world, runbook, params, bin);
        } finally {
          await after?.();
        }
      },
    }));
  const removeBackupAfter = (sample) =>
    sample?.result?.backupId &&
    rm(path.join(repository(world), sample.result.backupId), { recursive: true, force: true });

  const pgRestore = (runbook, extra) => [
    ...opsbook(runbook, async (side) => {
      const db = fresh('r_opsbook');
      await pg.psql(`CREATE DATABASE ${db}`);
      return {
        // Each build restores a backup it made (a build before rowhash counts with md5).
        params: { backup: fixtures.made[side].pgBackup.id, database: db, ...pgParams, ...extra },
        after: () => dropAfter(db),
      };
    }),
    ...openssh(async (ssh) => {
      const db = fresh('r_openssh');
      await pg.psql(`CREATE DATABASE ${db}`);
      return {
        command: `${ssh} "${pgEnv(db)} pg_restore --no-password --exit-on-error --no-owner --dbname=${db}" < ${fixtures.pgBackup.file}`,
        after: () => dropAfter(db),
      };
    }),
    ...upload(fixtures.pgBackup, async () => {
      const db = fresh('r_floor');
      await pg.psql(`CREATE DATABASE ${db}`);
      return {
        command: `${pgEnv(db)} pg_restore --no-password --exit-on-error --no-owner --dbname=${db}`,
        after: () => dropAfter(db),
      };
    }),
  ];
  const filesRestore = (runbook, extra) => [
    ...opsbook(runbook, async (side) => {
      const target = path.join(world.dir, 'restore', fresh('opsbook'));
      return {
        params: { backup: fixtures.made[side].filesBackup.id, target_dir: target, ...extra },
        after: () => restoredTrees.push(target),
      };
    }),
    ...openssh(async (ssh) => {
      const target = path.join(world.dir, 'restore', fresh('openssh'));
      return {
        command: `${ssh} "mkdir -p ${target} && tar -C ${target} --extract --file=-${fixtures.filesBackup.tarFlag}" < ${fixtures.filesBackup.file}`,
        after: () => restoredTrees.push(target),
      };
    }),
    ...upload(fixtures.filesBackup, async () => {
      const target = path.join(world.dir, 'restore', fresh('floor'));
      return {
        command: `mkdir -p ${target} && tar -C ${target} --extract --file=-${fixtures.filesBackup.tarFlag}`,
        after: () => restoredTrees.push(target),
      };
    }),
  ];
  switch (op) {
    case 'floor':
      return [
        ...opsbook('bench-floor', async () => ({ params: {} })),
        ...openssh(async (ssh) => ({ command: `${ssh} true` })),
      ];
    case 'pg-backup':
      return [
        ...opsbook(
          'bench-pg-backup',
          async () => ({ params: { database: fixtures.db, ...pgParams } }),
          { cleanup: removeBackupAfter },
        ),
        ...download(`${pgEnv(fixtures.db)} pg_dump --format=custom --no-password`),
      ];
    case 'files-backup':
      return [
        ...opsbook('bench-files-backup', async () => ({ params: { path: fixtures.tree } }), {
          cleanup: removeBackupAfter,
        }),
        ...download(
          `tar -C / --create --file=- --sparse -- ${fixtures.tree.slice(1)}${fixtures.filesBackup.compressor}`,
        ),
      ];
    case 'pg-restore':
      return pgRestore('bench-pg-restore', {});
    case 'data-restore-runbook':
      return pgRestore('data-restore', { from_host: 'h1', target_hostname: hostname });
    case 'files-restore':
      return filesRestore('bench-files-restore', {});
    case 'file-restore-runbook':
      return filesRestore('file-restore', { from_host: 'h1', target_hostname: hostname });
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

/**
 * The data of one size, and one opsbook backup of each kind per build (untimed; it also warms
 * the page cache and the server for every side): the archives the restores read. The OpenSSH
 * restores read the archives of the first build.
 */
async function prepareSize(world, size) {
  const tree = path.join(world.dir, 'data', `tree-${size}`);
  await makeTree(tree, size);
  const db = `app_${size}`;
  const dbBytes = await makeDatabase(world.pg, db, size);
  const pgParams = { db_host: world.pg.host, db_port: world.pg.port };
  const backups = async (made) => {
    const { backups } = JSON.parse(world.opsbook(['backup', 'list', '--json']).stdout);
    return backups.find((b) => b.id === made.result.backupId);
  };
  const archive = (b) => ({
    id: b.id,
    file: path.join(repository(world), b.id, b.archives[0].name),
    bytes: b.archives[0].size,
    sha256: b.archives[0].sha256,
    format: b.archives[0].format,
  });
  const made = {};
  for (const { side, bin } of world.builds) {
    const pgB = await backups(
      await runOpsbook(world, 'bench-pg-backup', { database: db, ...pgParams }, bin),
    );
    const filesB = await backups(
      await runOpsbook(world, 'bench-files-backup', { path: tree }, bin),
    );
    made[side] = { pgBackup: archive(pgB), filesBackup: archive(filesB) };
  }
  const { pgBackup, filesBackup } = made[world.builds[0].side];
  const { format } = filesBackup;
  const treeBytes = Number(execFileSync('du', ['-sb', tree], { encoding: 'utf8' }).split('\t')[0]);
  return {
    tree,
    treeBytes,
    db,
    dbBytes,
    made,
    pgBackup,
    filesBackup: {
      ...filesBackup,
      tarFlag: format === 'tar+zstd' ? ' --zstd' : format === 'tar+gzip' ? ' --gzip' : '',
      compressor:
        format === 'tar+zstd' ? ' | zstd -q -c' : format === 'tar+gzip' ? ' | gzip -6' : '',
    },
  };
}

const mib = (bytes) => (bytes / 1048576).toFixed(0);

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root (the testkit sshd logs in as root)');
  stopOnSignals();
  const world = await openBackupWorld();
  const rows = [];
  const all = [];
  const profiles = [];
  try {
    console.error(
      `backup bench: sizes ${SIZES.join(', ')} MiB, ${RUNS} rounds, ops ${OPS.join(', ')}; ssh2 negotiates ${world.cipher}; load ${loadNow()}`,
    );
    for (const size of SIZES) {
      const fixtures = await prepareSize(world, size);
      console.error(
        `size ${size}: tree ${mib(fixtures.treeBytes)} MiB (archive ${mib(fixtures.filesBackup.bytes)} MiB, ${fixtures.filesBackup.format}), database ${mib(fixtures.dbBytes)} MiB (dump ${mib(fixtures.pgBackup.bytes)} MiB)`,
      );
      for (const op of OPS) {
        if (op === 'floor' && size !== SIZES[0]) continue; // no data: once is enough
        const cases = casesOf(op, world, size, fixtures);
        const samples = new Map(cases.map((c) => [c.side, []]));
        const loadStart = loadNow();
        for (let round = 0; round < RUNS && !isStopping(); round++) {
          const order = round % 2 === 0 ? cases : [...cases].reverse();
          for (const c of order) {
            const s = await c.run();
            await c.cleanup?.(s);
            s.round = round;
            samples.get(c.side).push(s);
            all.push({ size, op, side: c.side, ...s, result: undefined });
            console.error(
              `  ${op} ${size} round ${round + 1} ${c.side}: ${s.wall.toFixed(2)} s${s.step !== undefined ? ` (journal: step ${s.step.toFixed(2)} s)` : ''}, CPU ${s.cpu.toFixed(2)} s (all ${s.allCpu.toFixed(2)} s), load ${s.load.toFixed(1)}`,
            );
          }
        }
        await removeRestoredTrees();
        rows.push(rowOf(op, size, fixtures, cases, samples, loadStart));
        printRow(rows.at(-1));
      }
      if (PROFILE) profiles.push(await profileStats(world, size, fixtures));
    }
  } finally {
    await world.close();
  }
  printTable(rows);
  printProfiles(profiles);
  if (process.env.BENCH_JSON)
    await writeFile(
      process.env.BENCH_JSON,
      JSON.stringify({ rows, profiles, samples: all }, null, 2),
    );
  if (rows.some((r) => !r.pass)) process.exitCode = 1;
}

/**
 * Where a backup's extra time goes on the server: the table stats of the size's database with
 * each checksum (databaseTableStats of this checkout, psql on this machine), against COPY of
 * every table to /dev/null (what the server does for pg_dump); alternating, median of RUNS.
 */
async function profileStats(world, size, fixtures) {
  const { createLocalTransport } = await import(path.join(root, 'packages/exec/dist/index.js'));
  const { databaseTableStats } = await import(path.join(root, 'packages/backup/dist/index.js'));
  const { pg } = world;
  const target = {
    database: fixtures.db,
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
  };
  const local = createLocalTransport({ host: 'bench' });
  const cases = {
    'COPY every table': () =>
      pg
        .psql("\\copy events to '/dev/null'", fixtures.db)
        .then(() => pg.psql("\\copy users to '/dev/null'", fixtures.db)),
    'stats, md5 (before)': () => databaseTableStats(local, target, { checksum: 'md5' }),
    'stats, rowhash': () => databaseTableStats(local, target, { checksum: 'rowhash' }),
  };
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let round = 0; round < RUNS; round++) {
    const names = Object.keys(cases);
    for (const name of round % 2 ? names.reverse() : names) {
      const t = process.hrtime.bigint();
      await cases[name]();
      times[name].push(Number(process.hrtime.bigint() - t) / 1e9);
    }
  }
  const profile = { size, load: loadNow() };
  for (const [name, xs] of Object.entries(times)) profile[name] = median(xs);
  console.error(`stats profile ${size}: ${JSON.stringify(profile)}`);
  return profile;
}

function printProfiles(profiles) {
  if (!profiles.length) return;
  console.log(
    '\n| size | COPY every table s | stats md5 (before) s | stats rowhash s | rowhash ÷ md5 | load |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const p of profiles)
    console.log(
      `| ${p.size} | ${p['COPY every table'].toFixed(2)} | ${p['stats, md5 (before)'].toFixed(2)} | ${p['stats, rowhash'].toFixed(2)} | ${(p['stats, rowhash'] / p['stats, md5 (before)']).toFixed(2)} | ${p.load} |`,
    );
}

function rowOf(op, size, fixtures, cases, samples, loadStart) {
  const ours = samples.get('opsbook');
  const sameSide = cases.find((c) => c.cipher && c.cipher !== 'default').side;
  const same = samples.get(sameSide);
  const ratios = ours.map((o, i) => same[i].wall / o.wall);
  const ratio = median(ratios);
  const before = samples.get('opsbook before');
  const ratiosBefore = before?.map((o, i) => same[i].wall / o.wall);
  // The ssh2 floor of a download or a restore's upload: its own ratio to OpenSSH (what any ssh2
  // client can show on this machine), and opsbook's time against it (what the product adds to
  // its library).
  const floor = samples.get('ssh2 floor');
  const floorRatios = floor?.map((f, i) => same[i].wall / f.wall);
  const overFloor = floor?.map((f, i) => f.wall / ours[i].wall);
  const isPg = op.startsWith('pg') || op.startsWith('data');
  const data = op === 'floor' ? 0 : isPg ? fixtures.dbBytes : fixtures.treeBytes;
  return {
    op,
    size,
    dataMiB: Number(mib(data)),
    archiveMiB:
      op === 'floor' ? 0 : Number(mib(isPg ? fixtures.pgBackup.bytes : fixtures.filesBackup.bytes)),
    opsbook: median(ours.map((s) => s.wall)),
    step: median(ours.map((s) => s.step)),
    opsbookCpu: median(ours.map((s) => s.cpu)),
    openssh: Object.fromEntries(
      cases
        .filter((c) => c.cipher)
        .map((c) => [c.side, median(samples.get(c.side).map((s) => s.wall))]),
    ),
    ratios,
    ratio,
    // All the CPU a run cost (client, sshd's sessions, PostgreSQL's backends): what decides the
    // wall time when the machine's cores are busy.
    allCpu: median(ours.map((s) => s.allCpu)),
    allCpuOpenssh: median(same.map((s) => s.allCpu)),
    ...(before ? { allCpuBefore: median(before.map((s) => s.allCpu)) } : {}),
    ...(floor
      ? {
          floor: median(floor.map((s) => s.wall)),
          floorCpu: median(floor.map((s) => s.cpu)),
          floorRatios,
          floorRatio: median(floorRatios),
          overFloor: median(overFloor),
        }
      : {}),
    ...(before
      ? {
          opsbookBefore: median(before.map((s) => s.wall)),
          ratiosBefore,
          ratioBefore: median(ratiosBefore),
        }
      : {}),
    pass: ratio >= TARGET,
    load: `${loadStart} → ${loadNow()}`,
  };
}

function printRow(r) {
  const others = Object.entries(r.openssh)
    .map(([side, t]) => `${side} ${t.toFixed(2)} s`)
    .join(', ');
  console.error(
    `${r.op} ${r.size} MiB: opsbook ${r.opsbook.toFixed(2)} s (journal: step ${r.step?.toFixed(2) ?? '-'} s), ${others}; ratio ${r.ratio.toFixed(2)} (${r.ratios.map((x) => x.toFixed(2)).join(', ')}) ${r.pass ? 'PASS' : 'FAIL'} (≥ ${TARGET}); load ${r.load}`,
  );
  if (r.floor !== undefined)
    console.error(
      `  ssh2 floor ${r.floor.toFixed(2)} s (CPU ${r.floorCpu.toFixed(2)} s): its own ratio to OpenSSH ${r.floorRatio.toFixed(2)} (${r.floorRatios.map((x) => x.toFixed(2)).join(', ')})${r.floorRatio < TARGET ? `, below ${TARGET} itself` : ''}; opsbook at ${r.overFloor.toFixed(2)} of the floor's speed`,
    );
}

function printTable(rows) {
  const sides = [...new Set(rows.flatMap((r) => Object.keys(r.openssh)))];
  const withBefore = rows.some((r) => r.ratioBefore !== undefined);
  const withFloor = rows.some((r) => r.floor !== undefined);
  const head = [
    'operation',
    'size',
    'data MiB',
    'archive MiB',
    'opsbook s',
    ...(withBefore ? ['opsbook before s'] : []),
    ...sides.map((s) => `${s} s`),
    'ratio (rounds)',
    ...(withBefore ? ['ratio before (rounds)'] : []),
    'target ≥ 0.8',
    ...(withFloor ? ['ssh2 floor s (its ratio)', 'opsbook ÷ floor speed'] : []),
    `all CPU s: opsbook${withBefore ? ' / before' : ''} / OpenSSH`,
    'load (1 min avg, start → end)',
  ];
  if (removedEnvNote()) console.log(`${removedEnvNote()}\n`);
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| ${head.map(() => '---').join(' | ')} |`);
  for (const r of rows)
    console.log(
      `| ${[
        r.op,
        r.size,
        r.dataMiB,
        r.archiveMiB,
        r.opsbook.toFixed(2),
        ...(withBefore ? [r.opsbookBefore.toFixed(2)] : []),
        ...sides.map((s) => r.openssh[s]?.toFixed(2) ?? ''),
        `**${r.ratio.toFixed(2)}** (${r.ratios.map((x) => x.toFixed(2)).join(', ')})`,
        ...(withBefore
          ? [`${r.ratioBefore.toFixed(2)} (${r.ratiosBefore.map((x) => x.toFixed(2)).join(', ')})`]
          : []),
        r.pass ? 'PASS' : 'FAIL',
        ...(withFloor
          ? r.floor === undefined
            ? ['', '']
            : [`${r.floor.toFixed(2)} (${r.floorRatio.toFixed(2)})`, r.overFloor.toFixed(2)]
          : []),
        [r.allCpu, ...(withBefore ? [r.allCpuBefore] : []), r.allCpuOpenssh]
          .map((x) => x.toFixed(1))
          .join(' / '),
        r.load,
      ].join(' | ')} |`,
    );
}

await main();
