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
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { execOverSsh2, sha256Meter } from './ssh2-floor-exec.mjs';

const o = JSON.parse(process.argv[2]);
const { client, channel, closed, status } = await execOverSsh2(o);
channel.resume();
const { meter, digest } = sha256Meter();
// 1 MiB reads, as opsbook reads an archive.
await pipeline(createReadStream(o.file, { highWaterMark: 1 << 20 }), meter, channel);
await closed;
client.end();
const { bytes, sha256 } = digest();
console.log(`bytes ${bytes} sha256 ${sha256}`);
process.exitCode = sha256 !== o.sha256 ? 3 : (status() ?? 255);
