// An SSH server for run-warmup.mjs, in a process of its own (bundle.mjs makes the cache in a
// spawnSync, which would stall a server in its own process): the warm-up run logs into it as a
// user's run logs into a host, so that dist/run.js.cache holds what a run compiles for a host that
// answers (key exchange, host key check, authentication, the step session's channel), not only for
// one that refuses. Built on ssh2's server, the library the runner's client is built on; no sshd
// needed to build opsbook.
//
//   node warmup-ssh-server.mjs CLIENT_PUBLIC_KEY_LINE SESSIONS_FILE
//
// Listens on 127.0.0.1, on a port of the system's choice, and prints one line, `PORT HOST_KEY`
// (the host key as `ssh-ed25519 BASE64`, for known_hosts); appends a line to SESSIONS_FILE for
// each command it starts. Only the given client key may log in, with a valid signature; then each
// exec request runs under /bin/sh -c as this process's user, its stdin, stdout and stderr wired
// to the channel. Exits when its stdin closes (the builder ended, whichever way) or on SIGTERM.
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from './ed25519-key-pair.mjs';

const { Server, utils } = ssh2;

const [clientKeyLine = '', sessionsFile] = process.argv.slice(2);
const allowed = utils.parseKey(clientKeyLine);
if (allowed instanceof Error) {
  console.error(`warmup-ssh-server: the client key is not an SSH public key: ${allowed.message}`);
  process.exit(2);
}
const allowedBlob = allowed.getPublicSSH();
const hostKey = ed25519KeyPair();
const children = new Set();

const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
  client.on('error', () => {
    // The run ended its connection its own way: nothing to do here.
  });
  client.on('authentication', (ctx) => {
    const blob = ctx.method === 'publickey' ? ctx.key.data : undefined;
    if (
      !blob ||
      ctx.key.algo !== allowed.type ||
      blob.length !== allowedBlob.length ||
      !timingSafeEqual(blob, allowedBlob) ||
      (ctx.signature && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)
    ) {
      ctx.reject(['publickey']);
      return;
    }
    ctx.accept();
  });
  client.on('session', (accept) => {
    const session = accept();
    session.on('exec', (acceptExec, _reject, info) => {
      const channel = acceptExec();
      const child = spawn('/bin/sh', ['-c', info.command], { stdio: 'pipe' });
      if (sessionsFile) appendFileSync(sessionsFile, 'exec\n');
      children.add(child);
      channel.pipe(child.stdin);
      child.stdout.pipe(channel, { end: false });
      child.stderr.pipe(channel.stderr, { end: false });
      child.stdin.on('error', () => {
        // The command ended before reading all of its input.
      });
      child.on('close', (code, signal) => {
        children.delete(child);
        if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
        else channel.exit(code ?? 0);
        channel.end();
      });
    });
  });
});

function stop() {
  for (const child of children) child.kill('SIGKILL');
  server.close();
  process.exit(0);
}

process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

server.listen(0, '127.0.0.1', () => {
  const publicKey = utils.parseKey(hostKey.public);
  const base64 = publicKey.getPublicSSH().toString('base64');
  process.stdout.write(`${server.address().port} ${publicKey.type} ${base64}\n`);
});
