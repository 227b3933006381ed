// The floor of fanout.mjs: a Node process doing only what a runner must do per host with ssh2,
// `concurrency` hosts at a time: connect, verify the host key, authenticate, run `execs` commands
// one after another, close. Same library, key, user, timeouts and TCP_NODELAY as opsbook; its
// argument is one JSON object:
//   {ssh2, port, addresses, keyFile, hostKey, hosts, concurrency, user, command, execs}
// `ssh2`: the folder of the ssh2 package opsbook's build loads; `addresses`: the sshd's listen
// addresses, host i connecting to addresses[i % addresses.length], as in the inventory.
// `session` (optional): the path of step-session.js in the build measured. Each host's commands
// then go through opsbook's step session (its StepSession, with the step's three OPSBOOK_*
// variables), as `opsbook run` sends them, `exit 0` at the end. The host
// runs what it runs for opsbook, and the client does only that: the floor of a runner that keeps
// the step session's guarantees (fanout.mjs's "step session floor").
// Prints `ok N slowest handshake S s` (with `session`, then `session module loaded in W ms, CPU C ms`)
// and exits 0 even when some hosts failed (the bench counts them).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const o = JSON.parse(process.argv[2]);
const { Client, utils } = createRequire(`${o.ssh2}/`)('./');
// Loading the step session's module (and the @opsbook/schema it imports) is a fixed cost of this
// process that the protocol itself does not have: it is measured and printed apart.
const loadStarted = process.hrtime.bigint();
const loadCpu = process.cpuUsage();
const session = o.session ? await import(o.session) : undefined;
const load = process.cpuUsage(loadCpu);
const loadMs = {
  wall: Number(process.hrtime.bigint() - loadStarted) / 1e6,
  cpu: (load.user + load.system) / 1000,
};
// Parsed once, as a runner would (and as opsbook does), not once per connection.
const key = utils.parseKey(readFileSync(o.keyFile));
const expected = Buffer.from(o.hostKey, 'base64');
let next = 0;
let ok = 0;
let slowest = 0;
const failures = new Map();

const exec = (c) =>
  new Promise((resolve, reject) =>
    c.exec(o.command, (err, ch) => {
      if (err) return reject(err);
      let code = null;
      ch.on('exit', (x) => {
        code = x;
      });
      ch.on('close', () => resolve(code));
      ch.resume();
      ch.stderr.resume();
    }),
  );

/**
 * One step session on connection `c`, driven by opsbook's own StepSession (its marker, request
 * lines, end-marker scanning and clean `exit 0`) over the channel, as ssh-transport.ts wires it:
 * `o.execs` commands one after another, then the clean end. Resolves to whether all exited 0.
 */
const sessionRun = (c, i) =>
  new Promise((resolve, reject) =>
    c.exec(session.stepSessionLine(), (err, ch) => {
      if (err) return reject(err);
      const steps = new session.StepSession(
        {
          write: (text) => ch.write(text),
          onStdout: (listener) => ch.on('data', listener),
          onStderr: (listener) => ch.stderr.on('data', listener),
          onClose: (listener) => ch.on('close', listener),
          onExit: (listener) => ch.on('exit', listener),
          destroy: () => ch.close(),
        },
        { host: `host-${i}`, lostError: () => new Error('the step session was lost') },
      );
      const env = {
        OPSBOOK_RUN_ID: 'bench-run',
        OPSBOOK_TICKET: 'OPS-1',
        OPSBOOK_HOST: `host-${i}`,
      };
      (async () => {
        let good = true;
        for (let k = 0; k < o.execs; k++)
          good = (await steps.run({ command: o.command, env })).exitCode === 0 && good;
        await steps.close();
        return good;
      })().then(resolve, reject);
    }),
  );

const one = (i) =>
  new Promise((resolve) => {
    const c = new Client();
    const started = Date.now();
    const fail = (e) => {
      failures.set(e.message, (failures.get(e.message) ?? 0) + 1);
      c.destroy();
      resolve();
    };
    c.on('error', fail);
    // As opsbook does: small request/response exchanges without Nagle's delay.
    c.once('connect', () => c.setNoDelay(true));
    c.on('ready', async () => {
      slowest = Math.max(slowest, Date.now() - started);
      let good = true;
      try {
        if (session) good = await sessionRun(c, i);
        else for (let k = 0; k < o.execs; k++) good = (await exec(c)) === 0 && good;
      } catch (e) {
        return fail(e);
      }
      c.end();
      if (good) ok++;
      resolve();
    });
    c.connect({
      host: o.addresses[i % o.addresses.length],
      port: o.port,
      username: o.user,
      // The parsed key through authHandler (as opsbook passes it): privateKey would parse it again.
      authHandler: [{ type: 'publickey', username: o.user, key }],
      // opsbook's defaults: 10 s to connect and get the banner, then 60 s of key exchange and auth.
      readyTimeout: 70_000,
      hostVerifier: (k) => k.equals(expected),
    });
  });

const lane = async () => {
  while (next < o.hosts) await one(next++);
};
await Promise.all(Array.from({ length: Math.min(o.concurrency, o.hosts) }, lane));
for (const [message, n] of failures) console.log(`failed ${n}: ${message}`);
console.log('ok', ok, 'slowest handshake', (slowest / 1000).toFixed(2), 's');
if (session)
  console.log(
    `session module loaded in ${loadMs.wall.toFixed(1)} ms, CPU ${loadMs.cpu.toFixed(1)} ms`,
  );
