// The floor of fanout.mjs: a Node process doing only what a runner must do per host with ssh2,
// `concurrency` hosts at a time: connect, verify the host key, authenticate, run `execs` commands
// one after another, close. Same library, key, user, timeouts and TCP_NODELAY as opsbook; its
// argument is one JSON object:
//   {ssh2, port, addresses, keyFile, hostKey, hosts, concurrency, user, command, execs}
// `ssh2`: the folder of the ssh2 package opsbook's build loads; `addresses`: the sshd's listen
// addresses, host i connecting to addresses[i % addresses.length], as in the inventory.
// Prints `ok N slowest handshake S s` and exits 0 even when some hosts failed (the bench counts them).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const o = JSON.parse(process.argv[2]);
const { Client, utils } = createRequire(`${o.ssh2}/`)('./');
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
        for (let k = 0; k < o.execs; k++) good = (await exec(c)) === 0 && good;
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
