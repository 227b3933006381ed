import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import {
  createWorld,
  execFileAsync,
  expectOk,
  type RunbookFixture,
  type World,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { readJournal } from './run-outcome.js';

/*
 * Where a secret param could show on the host while its step runs, besides the step's output:
 * the command lines of every process (`ps -ef`, /proc/PID/cmdline, readable by every user),
 * the environments of the processes opsbook starts that are not the step's own command
 * (/proc/PID/environ), sshd's log at LogLevel DEBUG3, and files left on the host (temp files,
 * shell history). The "host" is a real sshd on loopback, so /proc of this machine is the host's.
 */

const secretStepsRunbook: RunbookFixture = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: secret-steps
  title: Steps that hold a secret while they run
  category: change
  grade: P3
  owners: [ops-test]
spec:
  params:
    dir: {type: string, required: true, pattern: "^/", description: Marker folder}
    token: {type: string, secret: true, minLength: 8, description: API token}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: hold
      name: Hold the secret for a while
      run: test -n "$OPSBOOK_PARAM_TOKEN" && touch {{ params.dir }}/hold-started && sleep 2
    - id: hold-sudo
      name: Hold the secret for a while under sudo
      sudo: true
      run: test -n "$OPSBOOK_PARAM_TOKEN" && touch {{ params.dir }}/sudo-started && sleep 2
    - id: hold-script
      name: Hold the secret for a while in a script
      script: scripts/hold.sh
    - id: fail
      name: A command that fails with the secret as its argument
      continueOnError: true
      run: no-such-command-opsbook "$OPSBOOK_PARAM_TOKEN"
`,
  files: {
    'scripts/hold.sh':
      '#!/bin/sh\ntest -n "$OPSBOOK_PARAM_TOKEN" || exit 3\ntouch "$OPSBOOK_PARAM_DIR/script-started"\nsleep 2\n',
  },
};

/**
 * A built-in action whose finding quotes what it found on the host: here the newest backup's
 * file name, which a careless step made from the token (a kernel log line or a tool's error,
 * quoted by other checks, can hold one the same way).
 */
/** A literal path: the action's `with: path` takes no template. */
const FINDING_DIR = `/tmp/opsbook-test-secret-finding-${process.pid}`;
const secretFindingRunbook: RunbookFixture = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: secret-finding
  title: A finding that quotes a file named after the secret
  category: change
  grade: P3
  owners: [ops-test]
spec:
  params:
    token: {type: string, secret: true, minLength: 8, description: API token}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: dump
      name: Write a backup named after the token
      run: mkdir -p ${FINDING_DIR} && printf x > ${FINDING_DIR}/"app-$OPSBOOK_PARAM_TOKEN.dump"
    - id: check
      name: How old is the newest backup
      uses: inspection.backup-age
      with: {path: ${FINDING_DIR}, name: "*.dump", thresholds: {warn_hours: 0, crit_hours: 1000}}
`,
};

/** A step that prints the token and fails: output and a failure for the store to record. */
const secretPrintRunbook: RunbookFixture = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: secret-print
  title: Print the secret and fail
  category: change
  grade: P3
  owners: [ops-test]
spec:
  params:
    token: {type: string, secret: true, minLength: 8, description: API token}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: print
      name: Print the token, then fail
      run: printf 'token is %s\\n' "$OPSBOOK_PARAM_TOKEN"; exit 3
`,
};

let world: World;
let pg: Postgres;
beforeAll(async () => {
  // Every statement logged with its parameters, as a DBA chasing a slow query would set it.
  pg = await startPostgres({
    settings: {
      log_statement: 'all',
      log_parameter_max_length: '-1',
      log_min_error_statement: 'error',
      log_parameter_max_length_on_error: '-1',
      log_connections: 'on',
    },
  });
  world = await createWorld({
    hostCount: 1,
    runbooks: {
      'secret-steps': secretStepsRunbook,
      'secret-finding': secretFindingRunbook,
      'secret-print': secretPrintRunbook,
    },
    sshdLogLevel: 'DEBUG3',
  });
});
afterAll(async () => {
  await world?.remove();
  await pg?.dispose();
  await rm(FINDING_DIR, { recursive: true, force: true });
});

interface ProcessSeen {
  pid: string;
  cmdline: string;
  /** The secret is in its command line. */
  inArgv: boolean;
  /** The secret is in its environment. */
  inEnv: boolean;
}

/** Every process of this machine whose command line or environment holds `secret`. */
async function processesHolding(secret: string): Promise<ProcessSeen[]> {
  const seen: ProcessSeen[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || pid === String(process.pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    const inArgv = cmdline.includes(secret);
    const inEnv = environ.includes(secret);
    if (inArgv || inEnv) seen.push({ pid, cmdline: cmdline.replaceAll('\0', ' '), inArgv, inEnv });
  }
  return seen;
}

/** Files under `dir` (bounded depth) whose bytes hold `secret`. */
async function filesHolding(dir: string, secret: string, depth = 4): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const file = path.join(dir, e.name);
    if (e.isDirectory() && depth > 0) found.push(...(await filesHolding(file, secret, depth - 1)));
    else if (e.isFile()) {
      const bytes = await readFile(file).catch(() => Buffer.alloc(0));
      if (bytes.includes(secret)) found.push(file);
    }
  }
  return found;
}

describe('a secret param on the host while its step runs', () => {
  it('is on no command line, in no environment but the step command’s, in no sshd log line and in no file left behind', async () => {
    const token = `tok-${randomBytes(24).toString('base64url')}`;
    const env = { OPSBOOK_PARAM_TOKEN: token };
    const dir = path.join(world.markerDir, 'traces');
    await mkdir(dir, { recursive: true });
    const file = await planApproval(world, 'secret-steps', 'traces.json', {
      params: { dir },
      env,
    });
    await approveAs(world, file, world.people.alice);
    const run = world.spawnOpsbook(['run', file], { env });
    const opsbookPid = String(run.child.pid);

    // Sampled while the run goes on: every process that holds the token, and who it is.
    const holders = new Map<string, ProcessSeen>();
    const started = new Set<string>();
    let done = false;
    void run.done.then(() => {
      done = true;
    });
    for (let i = 0; i < 600 && !done; i++) {
      for (const p of await processesHolding(token)) holders.set(`${p.pid} ${p.cmdline}`, p);
      for (const m of ['hold-started', 'sudo-started', 'script-started'])
        if (
          await readFile(path.join(dir, m))
            .then(() => true)
            .catch(() => false)
        )
          started.add(m);
      await new Promise((r) => setTimeout(r, 50));
    }
    const result = await run.done;
    expect(result.stderr).not.toMatch(stackTrace);
    expect(result.code, result.stderr.slice(0, 2000)).toBe(0);
    // Each holding step really ran while the processes were read.
    expect([...started].sort()).toEqual(['hold-started', 'script-started', 'sudo-started']);

    const holding = [...holders.values()];
    // The step commands themselves (and the sleep they run) have the token in their environment:
    // that is how a step gets it. Nothing has it on its command line, and no process of the
    // session (sshd, the step session, sudo, the wrapper) has it in its environment.
    expect(
      holding.filter((p) => p.inArgv),
      'a process with the token on its command line',
    ).toEqual([]);
    const stepProcess = (p: ProcessSeen) =>
      p.pid === opsbookPid ||
      /^sleep 2 $/.test(p.cmdline) ||
      /^sh -c test -n "\$OPSBOOK_PARAM_TOKEN"/.test(p.cmdline) ||
      /^sh -c 'sh' '\S+\/[0-9a-f]{12}-hold\.sh' sh $|^sh \S+hold\.sh $/.test(p.cmdline) ||
      /^\/bin\/sh \S+\/[0-9a-f]{12}-hold\.sh $/.test(p.cmdline);
    expect(
      holding.filter((p) => !stepProcess(p)).map((p) => p.cmdline),
      'processes other than the step command holding the token',
    ).toEqual([]);
    expect(holding.some((p) => /^sleep 2 $/.test(p.cmdline))).toBe(true);

    const sshdLog = world.hosts[0]!.log();
    // DEBUG3 really logged, down to each command's exec request (the session's command line).
    expect(sshdLog).toContain('debug3:');
    expect(sshdLog).toMatch(/session_exec_req|Starting session: command/);
    expect(sshdLog.includes(token), 'sshd log').toBe(false);
    expect(sshdLog.includes(Buffer.from(token).toString('base64')), 'sshd log, base64').toBe(false);

    // Nothing on the host keeps it: its home (history files), its temp folder, the marker folder.
    const home = path.join(path.dirname(world.markerDir), 'remote-home');
    const tmp = process.env.TMPDIR || '/tmp';
    const left = [
      ...(await filesHolding(home, token)),
      ...(await filesHolding(dir, token)),
      ...(await filesHolding(tmp, token, 2)),
    ];
    expect(left, 'files holding the token').toEqual([]);
    // The failing command's message names the variable, never the value.
    expect(result.stderr).toContain('no-such-command-opsbook');
    expect(result.stderr.includes(token)).toBe(false);
  });
});

/** Every file of the state dir (journals, findings, the local tracker's tickets), as text. */
async function stateText(): Promise<string> {
  const found: string[] = [];
  for (const e of await readdir(world.stateDir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) found.push(await readFile(path.join(e.parentPath, e.name), 'utf8'));
  return found.join('\n');
}

describe('a secret param in what a built-in action found', () => {
  it('is masked in the step result: the journal, the findings, runs show and the ticket', async () => {
    const token = `tok-${randomBytes(24).toString('base64url')}`;
    const env = { OPSBOOK_PARAM_TOKEN: token };
    const dir = FINDING_DIR;
    const file = await planApproval(world, 'secret-finding', 'finding.json', { env });
    await approveAs(world, file, world.people.alice);
    const run = await world.opsbook(['run', file], { env });
    expect(run.stderr).not.toMatch(stackTrace);
    const runId = /run (\S+) \S+ in/.exec(run.stderr + run.stdout)?.[1];
    expect(runId, run.stderr.slice(0, 2000)).toBeDefined();
    const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
    const check = journal.find((e) => e.type === 'step-end' && e.step === 'check');
    // The finding is there, and says where the backup is, with the token starred.
    const result = JSON.stringify(check?.result);
    expect(result).toContain('newest backup');
    expect(result).toContain(`${dir}/app-***.dump`);
    const shown = await world.opsbook(['runs', 'show', runId!, '--output'], { env });
    const report = await world.opsbook(['report', '--format', 'json'], { env });
    const everything = [
      run.stdout,
      run.stderr,
      shown.stdout,
      shown.stderr,
      report.stdout,
      report.stderr,
      await stateText(),
    ].join('\n');
    expect(everything.includes(token), 'the token, in the output or the state dir').toBe(false);
  });
});

describe('a secret param and the PostgreSQL state store', () => {
  it('reaches no statement, no parameter, no row and no line of the server log', async () => {
    const token = `tok-${randomBytes(24).toString('base64url')}`;
    await pg.psql('create database secret_state');
    const env = {
      OPSBOOK_PARAM_TOKEN: token,
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/secret_state`,
    };
    await expectOk(world.opsbook(['db', 'migrate'], { env }), 'opsbook db migrate');
    const file = await planApproval(world, 'secret-print', 'state-db.json', { env });
    await approveAs(world, file, world.people.alice);
    const run = await world.opsbook(['run', file], { env });
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code, run.stderr.slice(0, 2000)).toBe(1);
    expect(run.stderr).toContain('token is ***');
    const runId = /^run (\S+):/m.exec(run.stderr)?.[1];
    expect(runId).toBeDefined();
    const shown = await world.opsbook(['runs', 'show', runId!, '--output'], { env });
    expect(shown.stdout).toContain('token is ***');

    // The server logged the run's statements, with their parameters: the masked output is there.
    const log = pg.log();
    expect(log).toContain('token is ***');
    expect(log.includes(token), 'the server log').toBe(false);
    expect(log.includes(pg.password), 'the server log, the login password').toBe(false);
    // Every row of every table, as pg_dump writes them.
    const { stdout: rows } = await execFileAsync(
      'pg_dump',
      ['--data-only', '-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', 'secret_state'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    expect(rows).toContain('token is ***');
    expect(rows.includes(token), 'a row of the state store').toBe(false);
  });
});
