// What both ssh2 floors of backup.mjs do around their stream: connect with the ssh2 package
// opsbook's build bundles, verify the host key, authenticate with the key, start one command.
// `o`: {ssh2, host, port, user, keyFile, hostKey, command} (see ssh2-download-floor.mjs).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';

/** The command's channel, its exit status once known (`status()`), and `closed`. */
export async function execOverSsh2(o) {
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
  return { client, channel, closed, status: () => status };
}

/** A pass-through stream that hashes (sha256) and counts what flows: `digest()` at its end. */
export function sha256Meter() {
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { meter, digest: () => ({ bytes, sha256: hash.digest('hex') }) };
}
