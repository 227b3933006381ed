// An Ed25519 key pair in OpenSSH's format, made by ssh2, for the run cache's warm-up
// (run-warmup.mjs, warmup-ssh-server.mjs).
import ssh2 from 'ssh2';

/**
 * ssh2's generateKeyPairSync drops the leading zero byte of a public key that has one (1 key in
 * 256), and ssh2 itself then refuses that key as malformed: such a pair is made again.
 */
export function ed25519KeyPair() {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    const pub = ssh2.utils.parseKey(pair.public);
    const priv = ssh2.utils.parseKey(pair.private);
    if (pub instanceof Error || priv instanceof Error) continue;
    if (pub.getPublicSSH().equals(priv.getPublicSSH())) return pair;
  }
}
