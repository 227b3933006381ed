// The ssh2 floor of backup.mjs's restores: a Node process doing only what any client built on
// ssh2 must do to restore a backup safely: connect, verify the host key, authenticate, run one
// command, stream the archive from its file into the command's stdin while hashing it (sha256,
// the check against the manifest that a restore owes before the host keeps what it got), wait
// for the command's exit. No opsbook code: what is left between this and OpenSSH is the library
// and Node, not the product. Its argument is one JSON object:
//   {ssh2, host, port, user, keyFile, hostKey, command, file, sha256}
// `ssh2`: the folder of the ssh2 package opsbook's build bundles; `hostKey`: the base64 of the
// host key it must present; `sha256`: the archive's, from its manifest. Prints
// `bytes N sha256 H`; exits with the command's status, or 3 if the archive did not match.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
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
const closed = new Promise((resolve) => channel.once('close', resolve));
channel.stderr.pipe(process.stderr);
channel.resume();
const hash = createHash('sha256');
let bytes = 0;
const meter = new Transform({
  transform(chunk, _encoding, done) {
    hash.update(chunk);
    bytes += chunk.length;
    done(null, chunk);
  },
});
// 1 MiB reads, as opsbook reads an archive.
await pipeline(createReadStream(o.file, { highWaterMark: 1 << 20 }), meter, channel);
await closed;
client.end();
const sha256 = hash.digest('hex');
console.log(`bytes ${bytes} sha256 ${sha256}`);
process.exitCode = sha256 !== o.sha256 ? 3 : (status ?? 255);
