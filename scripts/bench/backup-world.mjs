// The world of the backup benchmark (backup.mjs): ONE real OpenSSH sshd of @opsbook/testkit on
// 127.0.0.2, logged into as root (the product's and OpenSSH's commands both pay root's login
// shell), one real PostgreSQL of the testkit, an opsbook workspace (demo-style keys, trust store,
// local tracker) with one-step runbooks that use the backup actions as the shipped runbooks do,
// an inventory naming the sshd as host h1, and a snapshot of the bundled CLI (a rebuild of the
// checkout during the run cannot swap the code being measured).
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { makeDemoPeople, writeDemoWorkspace } from '../demo-workspace.mjs';
import { check, cleanEnv } from './bench-processes.mjs';

export const root = path.resolve(import.meta.dirname, '../..');
const pkg = (name) => path.join(root, 'packages', name, 'dist');
const { startSshdHosts } = await import(path.join(pkg('testkit'), 'sshd.js'));
const { startPostgres } = await import(path.join(pkg('testkit'), 'postgres.js'));
const { makeTempDir } = await import(path.join(pkg('testkit'), 'temp-dir.js'));

/** Opens the world; `close()` stops sshd and PostgreSQL and removes the temp dir. */
export async function openBackupWorld() {
  const temp = await makeTempDir('opsbook-bench-backup-');
  const dir = temp.dir;
  const opened = { temp };
  try {
    const bin = await snapshotCli(dir, 'cli', process.env.BENCH_CLI);
    // Another build, measured in the same run (rounds alternate between all sides).
    const before = process.env.BENCH_CLI_BEFORE
      ? await snapshotCli(dir, 'cli-before', process.env.BENCH_CLI_BEFORE)
      : undefined;
    const [host] = await startSshdHosts(1);
    opened.host = host;
    const pg = await startPostgres();
    opened.pg = pg;
    const knownHosts = path.join(dir, 'known_hosts');
    await writeFile(knownHosts, `${host.knownHostsLine}\n`);
    const inventory = path.join(dir, 'inventory.ini');
    await writeFile(
      inventory,
      `[db]\nh1 ansible_host=${host.host} ansible_port=${host.port} ansible_user=${host.user} ansible_ssh_private_key_file=${host.clientKeyPath}\n`,
    );
    const builds = [
      { side: 'opsbook', bin },
      ...(before ? [{ side: 'opsbook before', bin: before }] : []),
    ];
    const world = { dir, bin, builds, host, pg, knownHosts, inventory, env: cleanEnv() };
    world.env.OPSBOOK_TRUST_DIR = path.join(dir, 'trust-pin');
    world.env.OPSBOOK_PARAM_DB_PASSWORD = pg.password;
    world.opsbook = (args, cli = bin) =>
      check(
        spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', env: world.env }),
        `opsbook ${args.join(' ')}`,
      );
    await writeRunbooks(dir);
    world.approve = await prepareApprovals(world);
    world.cipher = await ssh2Cipher(world);
    // The ssh2 package the CLI's build bundles: what ssh2-download-floor.mjs loads.
    world.ssh2 = path.dirname(
      createRequire(path.join(root, 'packages/cli/package.json')).resolve('ssh2/package.json'),
    );
    world.ssh = (cipher) =>
      [
        'ssh -F /dev/null',
        cipher ? `-c ${cipher}` : '',
        `-i ${host.clientKeyPath} -o IdentitiesOnly=yes -o BatchMode=yes`,
        `-o UserKnownHostsFile=${knownHosts} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes`,
        `-p ${host.port} ${host.user}@${host.host}`,
      ]
        .filter(Boolean)
        .join(' ');
    world.close = () => closeWorld(opened);
    return world;
  } catch (e) {
    await closeWorld(opened);
    throw e;
  }
}

async function closeWorld({ temp, host, pg }) {
  await host?.dispose();
  await pg?.dispose();
  await temp.remove();
}

/** packages/cli/dist (or the folder holding a given bin.js) copied into the world's `name`. */
async function snapshotCli(dir, name, given) {
  const from = given ? path.dirname(path.resolve(given)) : path.join(root, 'packages/cli/dist');
  const to = path.join(dir, name);
  await cp(from, path.join(to, 'dist'), { recursive: true });
  await cp(path.join(root, 'packages/cli/package.json'), path.join(to, 'package.json'));
  await symlink(path.join(root, 'packages/cli/node_modules'), path.join(to, 'node_modules'));
  return path.join(to, 'dist', 'bin.js');
}

const header = (name, title, category) => `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: "${title}"
  category: ${category}
  grade: ${category === 'routine' ? 'P4' : 'P2'}
  owners: [bench]
`;

const pgParams = `    database: {type: string, required: true}
    db_host: {type: string, required: true}
    db_port: {type: integer, required: true}
    db_password: {type: string, secret: true, required: false}
`;
const pgWith = `        database: "{{ params.database }}"
        dbUser: postgres
        dbHost: "{{ params.db_host }}"
        dbPort: "{{ params.db_port }}"
        passwordParam: db_password`;

/**
 * One step each, with the `with:` keys the shipped data-backup, data-restore and file-restore
 * runbooks give their step, and the actions' defaults for the rest (compression auto, table
 * stats on, the restore's table comparison).
 */
const RUNBOOKS = {
  'bench-floor': `${header('bench-floor', 'one true step: the fixed cost of a run', 'routine')}spec:
  targets: {concurrency: 1, maxFailures: 0}
  steps:
    - id: noop
      name: Nothing
      run: "true"
`,
  'bench-pg-backup': `${header('bench-pg-backup', 'pg_dump -Fc with per-table stats into the repository', 'routine')}spec:
  params:
${pgParams}  targets: {concurrency: 1, maxFailures: 0}
  steps:
    - id: dump
      name: Dump the database
      uses: backup.postgres
      timeout: 2h
      with:
${pgWith}
`,
  'bench-pg-restore': `${header('bench-pg-restore', 'pg_restore a backup into an empty database', 'change')}spec:
  params:
    backup: {type: string, required: true}
${pgParams}  targets: {concurrency: 1, maxFailures: 0}
  steps:
    - id: restore
      name: Restore the dump
      uses: backup.restore
      timeout: 2h
      with:
        backup: "{{ params.backup }}"
${pgWith}
`,
  'bench-files-backup': `${header('bench-files-backup', 'tar a folder over SSH into the repository', 'routine')}spec:
  params:
    path: {type: string, required: true}
  targets: {concurrency: 1, maxFailures: 0}
  steps:
    - id: files
      name: Archive the folder
      uses: backup.files
      timeout: 2h
      with:
        paths: ["{{ params.path }}"]
        compression: auto
        onChange: warn
`,
  'bench-files-restore': `${header('bench-files-restore', 'extract a file backup into a folder', 'change')}spec:
  params:
    backup: {type: string, required: true}
    target_dir: {type: string, required: true}
  targets: {concurrency: 1, maxFailures: 0}
  steps:
    - id: restore
      name: Extract the archive
      uses: backup.restore
      timeout: 2h
      with:
        backup: "{{ params.backup }}"
        targetDir: "{{ params.target_dir }}"
`,
};

async function writeRunbooks(dir) {
  const shipped = ['data-restore', 'file-restore'];
  for (const [name, yaml] of Object.entries(RUNBOOKS)) {
    const folder = path.join(dir, 'runbooks', name);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'runbook.yaml'), yaml);
    await writeFile(
      path.join(folder, 'package.json'),
      JSON.stringify({ name: `@runbooks/${name}`, version: '1.0.0', private: true }),
    );
  }
  for (const name of shipped)
    await cp(path.join(root, 'runbooks', name), path.join(dir, 'runbooks', name), {
      recursive: true,
    });
}

/**
 * Keys, trust store and tracker (untimed); returns `approve(runbook, params, bin)`, which opens
 * a ticket, plans and approves one run with that build and returns the argv of its `opsbook run`.
 */
async function prepareApprovals(world) {
  const { dir } = world;
  const approval = await import(path.join(pkg('approval'), 'index.js'));
  const [senior, engineer] = await makeDemoPeople(dir, approval, [
    ['bench-senior', 'Bench Senior', 'senior'],
    ['bench-engineer', 'Bench Engineer', 'engineer'],
  ]);
  await writeDemoWorkspace(dir, [senior, engineer], {
    runbooks: 'runbooks',
    knownHosts: world.knownHosts,
  });
  world.opsbook(['trust', 'init']);
  const { LocalTracker } = await import(path.join(pkg('tracker'), 'index.js'));
  const tracker = new LocalTracker({ stateDir: path.join(dir, 'state'), actor: 'bench-senior' });
  let n = 0;
  return async (runbook, params, bin = world.bin) => {
    const { key } = await tracker.create({ summary: `bench ${runbook}`, grade: 'P4' });
    await tracker.transition(key, tracker.statuses.awaitingApproval);
    await tracker.transition(key, tracker.statuses.approved);
    n += 1;
    const file = path.join(dir, `approval-${n}.json`);
    world.opsbook(
      [
        ...['plan', runbook, '--ticket', key, '--target', 'h1', '-i', world.inventory, '-o', file],
        ...['--key', engineer.keyFile],
        ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
      ],
      bin,
    );
    world.opsbook(['approve', file, '--key', senior.keyFile, '-i', world.inventory], bin);
    return [
      process.execPath,
      bin,
      ...['run', file, '-i', world.inventory, '--json', '--key', engineer.keyFile],
    ];
  };
}

/** The cipher ssh2 (the product's SSH client) negotiates with this sshd. */
async function ssh2Cipher(world) {
  const require = createRequire(path.join(root, 'packages/cli/package.json'));
  const { Client } = require('ssh2');
  const { host } = world;
  const privateKey = await readFile(host.clientKeyPath);
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('handshake', (negotiated) => {
      client.end();
      resolve(negotiated.cs.cipher);
    });
    client.once('error', reject);
    client.connect({ host: host.host, port: host.port, username: host.user, privateKey });
  });
}

/** Runs shell text locally (untimed setup), failing loudly. */
export function sh(command, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command}: exit ${code}: ${err}`)),
    );
  });
}

/**
 * A folder of about `mib` MiB, as a host's data folder might be: half incompressible (8 files of
 * /dev/urandom), a quarter a log-like text file, a quarter small files (16 KiB of base64 each).
 */
export async function makeTree(dir, mib) {
  await mkdir(path.join(dir, 'small'), { recursive: true });
  const part = Math.max(1, Math.round((mib * 1048576) / 2 / 8));
  for (let i = 0; i < 8; i++) await sh(`head -c ${part} /dev/urandom > ${dir}/part-${i}.bin`);
  const quarter = Math.round((mib * 1048576) / 4);
  await sh(
    `seq 1 100000000 | awk '{print "2026-12-03T10:00:00Z host-" $1 % 997 " GET /api/v1/items/" $1 " 200 " ($1 * 7) % 1000 "ms"}' | head -c ${quarter} > ${dir}/access.log`,
  );
  const small = Math.max(1, Math.round(quarter / 16384));
  await sh(
    `i=0; while [ $i -lt ${small} ]; do head -c 12288 /dev/urandom | base64 -w 0 > ${dir}/small/f-$i.txt; i=$((i + 1)); done`,
  );
}

/**
 * A database of about `mib` MiB: `events` (bigint key, timestamptz, text, int, text, jsonb, and a
 * second index) and `users` (a tenth of the rows). Returns its size as PostgreSQL counts it.
 */
export async function makeDatabase(pg, name, mib) {
  const rows = Math.max(1000, Math.round((mib * 1e6) / 265));
  await pg.psql(`CREATE DATABASE ${name}`);
  await pg.psql(
    `CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, host text NOT NULL, level int, message text, payload jsonb);
INSERT INTO events SELECT g, timestamptz '2026-01-01' + g * interval '1 second', 'host-' || (g % 1000), g % 5, md5(g::text) || ' ' || md5((g * 7)::text), jsonb_build_object('g', g, 'k', md5((g * 3)::text)) FROM generate_series(1, ${rows}) g;
CREATE INDEX ON events (host, at);
CREATE TABLE users (id int PRIMARY KEY, name text, score float8);
INSERT INTO users SELECT g, 'user ' || g, g / 7.0 FROM generate_series(1, ${Math.round(rows / 10)}) g;`,
    name,
  );
  await pg.psql('VACUUM ANALYZE', name);
  return Number(await pg.psql(`SELECT pg_database_size('${name}')`));
}
