// A throwaway approval for bundle.mjs to run while it makes dist/run.js.cache: the code cache
// holds what V8 compiled by the end of that run, so it should compile what a user's run does —
// verify the approval against the pin, render the plan, claim the run on the ticket and in the
// ledger, journal it, run steps on a host, log into an SSH host and run its steps there, reach for
// one that refuses, report to the ticket. Everything lives in one temp folder (keys made here, a
// local tracker, its own trust pin, HOME), removed afterwards. The SSH host that answers is
// warmup-ssh-server.mjs on 127.0.0.1 (only the warm-up's own login key may log in); the one that
// refuses is 127.0.0.1 port 1.
import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalTracker } from '@opsbook/tracker';
import { writeDemoWorkspace } from '../../../scripts/demo-workspace.mjs';
import { ed25519KeyPair } from './ed25519-key-pair.mjs';

export { ed25519KeyPair };

const RUNBOOK = 'run-warmup';
/** The hosts that log into warmup-ssh-server.mjs: more than FANOUT_HOSTS (src/heap-growth.ts). */
const SSH_HOSTS = 12;

const runbookYaml = `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${RUNBOOK}
  title: Warms up the code cache of opsbook run
  category: routine
  grade: P4
  owners: [opsbook]
spec:
  params:
    word: {type: string, default: warm}
  targets: {default: all, concurrency: 8, maxFailures: 1}
  prechecks:
    - {id: ready, name: ready, run: "true"}
  steps:
    - {id: say, name: say the word, run: "echo {{ params.word }}"}
  postchecks:
    - {id: done, name: done, run: "true"}
`;

/** The OpenSSH public key line of an ECDSA P-256 private key. */
function publicKeyLine(privateKeyPem) {
  const { x, y } = createPublicKey(privateKeyPem).export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(x, 'base64url'),
    Buffer.from(y, 'base64url'),
  ]);
  const field = (bytes) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(bytes));
    return Buffer.concat([length, Buffer.from(bytes)]);
  };
  const blob = Buffer.concat([field('ecdsa-sha2-nistp256'), field('nistp256'), field(point)]);
  return `ecdsa-sha2-nistp256 ${blob.toString('base64')}`;
}

/**
 * Sets up the workspace with `bin` (the built dist/bin.js): trust pin, ticket, plan, approval.
 * Returns the argv of `opsbook run` for it, the cwd and environment to run it in, `remove`, and
 * `note`: why the run will be refused early, when a step of the setup failed (the trust pin
 * can only be chosen by root).
 */
export async function prepareRunWarmup(bin) {
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-run-warmup-'));
  let server;
  const remove = async () => {
    server?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const people = [];
    for (const [id, name, role] of [
      ['warmup-senior', 'Warm-up Senior', 'senior'],
      ['warmup-engineer', 'Warm-up Engineer', 'engineer'],
    ]) {
      const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'sec1',
        format: 'pem',
      });
      const keyFile = path.join(dir, `${id}.pem`);
      await writeFile(keyFile, pem, { mode: 0o600 });
      people.push({ id, name, role, keyFile, line: `${publicKeyLine(pem)} ${id}` });
    }
    const [senior, engineer] = people;
    // The engineer logs into the hosts with an Ed25519 key in OpenSSH's format, the kind
    // ssh-keygen makes by default: its parsing is then in the cache too.
    const login = ed25519KeyPair();
    const loginKeyFile = path.join(dir, 'id_ed25519');
    await writeFile(loginKeyFile, login.private, { mode: 0o600 });
    // A machine where it cannot listen on 127.0.0.1 still builds: with a smaller cache, said by
    // bundle.mjs (no SSH host ran its steps), as before the warm-up had SSH hosts.
    server = await startWarmupSshServer(login.public, path.join(dir, 'ssh-sessions')).catch((e) => {
      console.warn(`the warm-up SSH server did not start: ${e.message}`);
      return undefined;
    });
    const knownHosts = path.join(dir, 'known_hosts');
    await writeFile(knownHosts, server ? `[127.0.0.1]:${server.port} ${server.hostKey}\n` : '');
    await writeDemoWorkspace(dir, people, { runbooks: 'runbooks', knownHosts });
    await mkdir(path.join(dir, 'runbooks', RUNBOOK), { recursive: true });
    await writeFile(
      path.join(dir, 'runbooks', RUNBOOK, 'package.json'),
      JSON.stringify({ name: `@runbooks/${RUNBOOK}`, version: '1.0.0', private: true }),
    );
    await writeFile(path.join(dir, 'runbooks', RUNBOOK, 'runbook.yaml'), runbookYaml);
    const inventory = path.join(dir, 'inventory.ini');
    await writeFile(
      inventory,
      [
        '[warmup]',
        'here ansible_connection=local',
        // A fan-out (FANOUT_HOSTS or more hosts, several at once), as most runs are: a run on
        // fewer hosts takes other paths (src/heap-growth.ts), which a 50-host run would then
        // compile as it goes.
        ...Array.from(
          { length: server ? SSH_HOSTS : 0 },
          (_, i) =>
            `near-${String(i + 1).padStart(2, '0')} ansible_host=127.0.0.1 ansible_port=${server.port} ansible_user=opsbook ansible_ssh_private_key_file=${loginKeyFile}`,
        ),
        `away ansible_host=127.0.0.1 ansible_port=1 ansible_user=opsbook ansible_ssh_private_key_file=${loginKeyFile}`,
        '',
      ].join('\n'),
    );
    const tracker = new LocalTracker({ stateDir: path.join(dir, 'state'), actor: senior.id });
    const { key } = await tracker.create({ summary: 'code cache warm-up', grade: 'P4' });
    await tracker.transition(key, tracker.statuses.awaitingApproval);
    await tracker.transition(key, tracker.statuses.approved);
    const approval = path.join(dir, `${key}.approval.json`);
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      OPSBOOK_TRUST_DIR: path.join(dir, 'trust-pin'),
      NO_COLOR: '1',
    };
    const opsbook = (...args) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8' });
    let note;
    for (const args of [
      ['trust', 'init'],
      [
        'plan',
        RUNBOOK,
        '--ticket',
        key,
        '-i',
        inventory,
        '-o',
        approval,
        '--key',
        engineer.keyFile,
      ],
      ['approve', approval, '--key', senior.keyFile, '-i', inventory],
    ]) {
      const r = opsbook(...args);
      if (r.status === 0) continue;
      note = `opsbook ${args.slice(0, 2).join(' ')} exited ${r.status}: ${r.stderr.trim()}`;
      break;
    }
    return {
      argv: ['run', approval, '-i', inventory, '--key', engineer.keyFile],
      cwd: dir,
      env,
      remove,
      sshHosts: SSH_HOSTS,
      sshSessions: () => server?.sessions() ?? 0,
      ...(note ? { note } : {}),
    };
  } catch (e) {
    await remove();
    throw e;
  }
}

/**
 * Starts warmup-ssh-server.mjs (its own process), which notes each command it runs in
 * `sessionsFile`, and waits for its port and host key. `stop` ends it; so does the end of this
 * process (its stdin closes). `sessions()`: how many commands it ran so far (read from the file:
 * bundle.mjs blocks in spawnSync while the run logs in).
 */
export function startWarmupSshServer(clientKeyLine, sessionsFile) {
  const child = spawn(
    process.execPath,
    [new URL('warmup-ssh-server.mjs', import.meta.url).pathname, clientKeyLine, sessionsFile],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the warm-up SSH server exited (${code}) before it listened`)),
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data) => {
      out += data;
      const line = /^(\d+) (\S+ \S+)\n/.exec(out);
      if (!line) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      child.removeAllListeners('exit');
      resolve({
        port: Number(line[1]),
        hostKey: line[2],
        sessions: () => {
          try {
            return readFileSync(sessionsFile, 'utf8').split('\n').filter(Boolean).length;
          } catch {
            return 0;
          }
        },
        stop: () => {
          child.stdin.end();
          child.kill('SIGTERM');
        },
      });
    });
  });
}
