import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { execErrors } from './error-codes.js';
import { execStream } from './exec-stream.js';
import { quoteShellArg } from './shell-quote.js';
import type { Transport } from './transport.js';

/**
 * How a file reaches a host whose sshd has no SFTP subsystem (`Subsystem sftp` missing from
 * sshd_config, as on some hardened images): its bytes go to `cat` on the stdin of a command.
 *
 * Such a command has no lifeline (exec-stream.ts): an abort, a lost connection or a failing
 * source only ends its stdin early, and `cat` cannot tell a short input from a whole one. So the
 * bytes land in a private temporary file next to the target (umask 077, never an existing file),
 * the host compares its byte count and sha256 with the ones given here, and only a file that
 * matches both is made executable (the requested mode) and renamed to its place; any other is
 * deleted. A script therefore runs from exactly the bytes that were checked, or not at all.
 *
 * The sha256 tool is chosen before a byte is read: sha256sum (GNU coreutils, busybox), else
 * `openssl dgst -sha256 -r`, else `shasum -a 256` (macOS, perl). A host with none of them is
 * refused (SSH_SFTP_UNAVAILABLE) and nothing is written.
 */
export interface ExecCopySource {
  /** The byte count the host must receive. */
  size: number;
  /** The sha256 (hex) the host must compute over them. */
  sha256: string;
  /** Opens the bytes; called once, when the command starts. */
  open(): Readable;
}

/** Exit codes of the command below (the wrapper's own are 125 and up). */
const NO_SHA256_TOOL = 90;
const MISMATCH = 91;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Bytes held in memory (a checked script): their size and hash, sent from that same buffer. */
export function bytesSource(bytes: Uint8Array): ExecCopySource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buffer.length,
    sha256: createHash('sha256').update(buffer).digest('hex'),
    open: () => Readable.from([buffer], { objectMode: false }),
  };
}

/**
 * A local file, hashed here first, then read again to be sent: a file changed in between
 * arrives with another hash and is refused on the host.
 */
export async function localFileSource(localPath: string): Promise<ExecCopySource> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(localPath)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex'), open: () => createReadStream(localPath) };
}

/** The shell text that receives, checks and places the file (see above). */
export function verifiedCopyCommand(
  remotePath: string,
  expected: { size: number; sha256: string },
  mode: number | undefined,
  partPath: string,
): string {
  if (
    !Number.isSafeInteger(expected.size) ||
    expected.size < 0 ||
    !SHA256_HEX.test(expected.sha256)
  )
    throw new TypeError(`copyOverExec: bad size or sha256 for ${remotePath}`);
  const file = quoteShellArg(remotePath, 'remote path');
  const part = quoteShellArg(partPath, 'remote path');
  const chmod = mode === undefined ? '' : `chmod ${(mode & 0o7777).toString(8)} "$t" && `;
  return [
    'if command -v sha256sum >/dev/null 2>&1; then h="sha256sum"',
    'elif command -v openssl >/dev/null 2>&1; then h="openssl dgst -sha256 -r"',
    'elif command -v shasum >/dev/null 2>&1; then h="shasum -a 256"',
    `else exit ${NO_SHA256_TOOL}; fi`,
    // noclobber: the temporary file is created new, never opened through what already lies
    // there, and only a file made here is ever removed.
    `umask 077; set -C; t=${part}`,
    ': > "$t" || exit 1',
    `trap 'rm -f -- "$t"; exit 1' HUP INT TERM PIPE`,
    'cat >> "$t" || { rm -f -- "$t"; exit 1; }',
    `n=$(wc -c < "$t" | tr -d ' \t'); s=$($h < "$t"); s=\${s%% *}`,
    `if [ "$n" != ${expected.size} ] || [ "$s" != ${expected.sha256} ]; then`,
    `  rm -f -- "$t"; echo "received $n bytes with sha256 $s" >&2; exit ${MISMATCH}`,
    'fi',
    `${chmod}mv -f -- "$t" ${file} || { rm -f -- "$t"; exit 1; }`,
  ].join('\n');
}

/**
 * Sends a file over a command on the transport's host (see above). Resolves once the host has
 * checked it and it is in place; rejects with SSH_COPY_FAILED when it arrived short or altered
 * (deleted), SSH_SFTP_UNAVAILABLE when the host cannot check it (nothing written).
 */
export async function copyOverExec(
  transport: Transport,
  remotePath: string,
  source: ExecCopySource,
  options: { mode?: number; signal?: AbortSignal } = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  const part = `${remotePath}.${randomBytes(6).toString('hex')}.part`;
  const command = verifiedCopyCommand(remotePath, source, options.mode, part);
  const run = execStream(transport, { command, stdin: source.open(), signal: options.signal });
  run.stdout.on('error', () => {}); // `done` carries the same error
  run.stdout.resume();
  const exit = await run.done;
  if (exit.exitCode === 0) return;
  const host = transport.host;
  const facts = { host, path: remotePath };
  const said = exit.stderr.trim().split('\n').slice(-3).join('; ');
  if (exit.exitCode === NO_SHA256_TOOL)
    throw new execErrors.WorkFailedError(
      'SSH_SFTP_UNAVAILABLE',
      `host ${host}: cannot send ${remotePath}: its sshd has no SFTP subsystem, and it has no sha256sum, openssl or shasum to check a file sent without it; nothing was written: add "Subsystem sftp internal-sftp" to the host's sshd_config and reload sshd, or install sha256sum (coreutils)`,
      facts,
    );
  if (exit.exitCode === MISMATCH)
    throw new execErrors.UnreachableError(
      'SSH_COPY_FAILED',
      `host ${host}: ${remotePath} arrived short or altered (${said}; expected ${source.size} bytes with sha256 ${source.sha256.slice(0, 12)}…): it was deleted and nothing ran from it`,
      facts,
    );
  throw new execErrors.UnreachableError(
    'SSH_COPY_FAILED',
    `host ${host}: writing ${remotePath} over a command (the host has no SFTP subsystem) failed with ${exit.exitCode ?? exit.signal}: ${said || 'no message'}`,
    facts,
  );
}
