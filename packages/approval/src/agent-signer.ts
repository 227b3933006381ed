import { createConnection } from 'node:net';
import type { OpsbookError } from '@opsbook/schema';
import { approvalErrors } from './error-codes.js';
import { parsePublicKeyBlob, SshKeyError, type SshPublicKey } from './ssh-key.js';
import { SshReader, sshString, sshUint32 } from './ssh-wire.js';
import type { SshSigner } from './sshsig.js';

/*
 * A minimal ssh-agent client (draft-miller-ssh-agent). ssh2's OpenSSHAgent is not used because
 * it drops security-key (sk-) identities and strips the signature algorithm, flags and counter
 * from replies, which an SSHSIG signature must carry; hardware-backed keys would not work.
 */
const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
const RSA_SHA2_512 = 4;
/** No agent reply opsbook needs is anywhere near this; bounds memory against a hostile socket. */
const MAX_REPLY = 256 * 1024;

export interface AgentKey {
  publicKey: SshPublicKey;
  comment: string;
}

export interface AgentOptions {
  /** Defaults to SSH_AUTH_SOCK of `env`. */
  socketPath?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal | undefined;
}

/**
 * No agent to talk to: --agent was asked for in an environment without one, a usage problem
 * (exit 2) the user fixes before running again, not a host or tracker that is down.
 */
function agentUnavailable(why: string): OpsbookError {
  return new approvalErrors.OpsbookError(
    'invalid',
    'AGENT_UNAVAILABLE',
    `${why}: start ssh-agent (eval "$(ssh-agent)") and ssh-add your key, or sign with --key PATH instead of --agent`,
  );
}

function socketOf(options: AgentOptions): string {
  const path = options.socketPath ?? (options.env ?? process.env).SSH_AUTH_SOCK;
  if (!path) throw agentUnavailable('--agent needs ssh-agent, and SSH_AUTH_SOCK is not set');
  return path;
}

/** One request, one reply, on a fresh connection. */
function agentRequest(
  socketPath: string,
  type: number,
  body: Buffer,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const unreachable = (why: string) =>
      agentUnavailable(`cannot talk to ssh-agent at ${socketPath} (SSH_AUTH_SOCK; ${why})`);
    // Once connected, the agent is there: a reply it botches is its refusal, not a missing agent.
    const failed = (why: string) =>
      new approvalErrors.RefusalError(
        'AGENT_FAILED',
        `ssh-agent at ${socketPath} ${why}: check it with ssh-add -l, or sign with --key PATH`,
      );
    let isConnected = false;
    if (signal?.aborted) return reject(signal.reason);
    const socket = createConnection(socketPath);
    let chunks = Buffer.alloc(0);
    const onAbort = () =>
      socket.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (err: unknown, value?: Buffer) => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(value as Buffer);
    };
    socket.on('connect', () => {
      isConnected = true;
      socket.write(Buffer.concat([sshUint32(body.length + 1), Buffer.from([type]), body]));
    });
    socket.on('data', (chunk: Buffer) => {
      chunks = Buffer.concat([chunks, chunk]);
      if (chunks.length < 4) return;
      const length = chunks.readUInt32BE(0);
      if (length > MAX_REPLY) return finish(failed('sent a reply too large to be one'));
      if (chunks.length >= 4 + length) finish(undefined, chunks.subarray(4, 4 + length));
    });
    socket.on('error', (e) =>
      finish(
        signal?.aborted
          ? signal.reason
          : isConnected
            ? failed(`broke the connection (${e.message})`)
            : unreachable(e.message),
      ),
    );
    socket.on('close', () => finish(failed('closed the connection before its reply')));
  });
}

/** The keys the agent holds that opsbook can use; keys of other types are left out. */
export async function listAgentKeys(options: AgentOptions = {}): Promise<AgentKey[]> {
  const reply = await agentRequest(
    socketOf(options),
    REQUEST_IDENTITIES,
    Buffer.alloc(0),
    options.signal,
  );
  const r = new SshReader(reply);
  if (r.readByte() !== IDENTITIES_ANSWER)
    throw new approvalErrors.RefusalError(
      'AGENT_FAILED',
      'ssh-agent refused to list its keys (is it locked? ssh-add -X unlocks it), or sign with --key PATH',
    );
  const count = r.readUint32();
  const keys: AgentKey[] = [];
  for (let i = 0; i < count && i < 1024; i++) {
    const blob = r.readString();
    const comment = r.readString().toString('utf8');
    try {
      keys.push({ publicKey: parsePublicKeyBlob(blob, comment), comment });
    } catch (e) {
      if (!(e instanceof SshKeyError)) throw e; // a DSA or certificate identity: not usable here
    }
  }
  return keys;
}

/**
 * A signer backed by ssh-agent: the key named by `fingerprint` (SHA256:…), or the agent's only
 * usable key. The private key never leaves the agent (or the hardware token behind it).
 */
export async function connectAgentSigner(
  options: AgentOptions & { fingerprint?: string } = {},
): Promise<SshSigner> {
  const socketPath = socketOf(options);
  const keys = await listAgentKeys({ ...options, socketPath });
  const chosen = options.fingerprint
    ? keys.filter((k) => k.publicKey.fingerprint === options.fingerprint)
    : keys;
  if (chosen.length !== 1 || !chosen[0]) {
    const held =
      keys.map((k) => `${k.publicKey.fingerprint} (${k.comment || k.publicKey.type})`).join(', ') ||
      'none';
    const why = options.fingerprint
      ? `ssh-agent holds no key ${options.fingerprint}`
      : keys.length === 0
        ? 'ssh-agent holds no usable key'
        : 'ssh-agent holds several keys';
    throw new approvalErrors.RefusalError(
      'AGENT_KEY_NOT_FOUND',
      `${why}: ssh-add your key, or pick one with --fingerprint (agent keys: ${held})`,
    );
  }
  const { publicKey } = chosen[0];
  return {
    publicKey,
    async sign(data, signal) {
      const flags = publicKey.type === 'ssh-rsa' ? RSA_SHA2_512 : 0;
      const body = Buffer.concat([sshString(publicKey.blob), sshString(data), sshUint32(flags)]);
      const reply = await agentRequest(socketPath, SIGN_REQUEST, body, signal ?? options.signal);
      const r = new SshReader(reply);
      if (r.readByte() !== SIGN_RESPONSE) {
        throw new approvalErrors.RefusalError(
          'AGENT_SIGN_REFUSED',
          `ssh-agent refused to sign with ${publicKey.fingerprint}: confirm the request, touch the security key, or check ssh-add -l`,
        );
      }
      return r.readString();
    },
  };
}
