// The ssh2 floor of backup.mjs's downloads: a Node process doing only what any client built on
// ssh2 must do to take a backup: connect, verify the host key, authenticate, run one command,
// stream its stdout into a new file while hashing it (sha256, as every backup's manifest needs),
// fsync it. No opsbook code: what is left between this and OpenSSH is the library and Node, not
// the product. Its argument is one JSON object:
//   {ssh2, host, port, user, keyFile, hostKey, command, out}
// `ssh2`: the folder of the ssh2 package opsbook's build bundles; `hostKey`: the base64 of the
// host key it must present. Prints `bytes N sha256 H`; exits with the command's status.
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const o = JSON.parse(process.argv[2]);
const { Client, utils } = createRequire(`${o.ssh2}/`)('./');
const key = utils.parseKey(readFileSync(o.keyFile));
const expected = Buffer.from(o.hostKey, 'base64');

const client = new Client();
await new Promise((resolve, reject) => {
  client.once('ready', resolve);
  client.once('error', reject);
  client.connect({
    host: o.host,
    port: o.port,
    username: o.user,
    authHandler: [{ type: 'publickey', username: o.user, key }],
    readyTimeout: 70_000,
    hostVerifier: (k) => k.equals(expected),
  });
});
const channel = await new Promise((resolve, reject) =>
  client.exec(o.command, (err, ch) => (err ? reject(err) : resolve(ch))),
);
let status = null;
channel.on('exit', (code) => {
  status = code;
});
// The exit status may come after the end of stdout: wait for the channel's close as well.
const closed = new Promise((resolve) => channel.once('close', resolve));
channel.stderr.pipe(process.stderr);
const hash = createHash('sha256');
let bytes = 0;
const meter = new Transform({
  transform(chunk, _encoding, done) {
    hash.update(chunk);
    bytes += chunk.length;
    done(null, chunk);
  },
});
// wx and flush, as opsbook writes an archive: a new file, fsynced before it is closed.
const sink = createWriteStream(o.out, { flags: 'wx', flush: true, highWaterMark: 1 << 20 });
await pipeline(channel, meter, sink);
await closed;
client.end();
console.log(`bytes ${bytes} sha256 ${hash.digest('hex')}`);
process.exitCode = status ?? 255;
