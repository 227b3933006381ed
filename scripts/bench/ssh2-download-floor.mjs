// The ssh2 floor of backup.mjs's downloads: a Node process doing only what any client built on
// ssh2 must do to take a backup: connect, verify the host key, authenticate, run one command,
// stream its stdout into a new file while hashing it (sha256, as every backup's manifest needs),
// fsync it. No opsbook code: what is left between this and OpenSSH is the library and Node, not
// the product. Its argument is one JSON object:
//   {ssh2, host, port, user, keyFile, hostKey, command, out}
// `ssh2`: the folder of the ssh2 package opsbook's build bundles; `hostKey`: the base64 of the
// host key it must present. Prints `bytes N sha256 H`; exits with the command's status.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { execOverSsh2, sha256Meter } from './ssh2-floor-exec.mjs';

const o = JSON.parse(process.argv[2]);
const { client, channel, closed, status } = await execOverSsh2(o);
const { meter, digest } = sha256Meter();
// wx and flush, as opsbook writes an archive: a new file, fsynced before it is closed.
const sink = createWriteStream(o.out, { flags: 'wx', flush: true, highWaterMark: 1 << 20 });
await pipeline(channel, meter, sink);
await closed;
client.end();
const { bytes, sha256 } = digest();
console.log(`bytes ${bytes} sha256 ${sha256}`);
process.exitCode = status() ?? 255;
