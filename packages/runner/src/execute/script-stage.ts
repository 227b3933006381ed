import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { quoteShellArg, type Transport } from '@opsbook/exec';
import { runnerErrors } from '../error-codes.js';

/**
 * Copies `script:` files to a private temporary folder on the host. The bytes written are the
 * ones whose sha256 the plan holds, read and checked once here and sent from memory, so a
 * script edited after the approval was verified, even while it is being sent, can never run.
 */
export class ScriptStage {
  private remoteDirs = new Map<Transport, string>();
  /** The files staged in each folder, for a run to name the ones it could not remove. */
  private staged = new Map<Transport, Set<string>>();

  /** `local`: the runner machine's transport, whose folder is removed with any host's. */
  constructor(private readonly local: Transport) {}

  async stage(
    transport: Transport,
    script: { path: string; sha256: string },
    bundleDir: string,
  ): Promise<string> {
    const bytes = await readFile(path.join(bundleDir, ...script.path.split('/')));
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== script.sha256) {
      throw new runnerErrors.WorkFailedError(
        'SCRIPT_CHANGED',
        `script ${script.path} changed after the approval was verified (sha256 ${actual.slice(0, 12)}… ≠ ${script.sha256.slice(0, 12)}…): nothing was run from it`,
      );
    }
    let dir = this.remoteDirs.get(transport);
    if (!dir) {
      const made = await transport.exec({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, run on the host
        command: 'mktemp -d "${TMPDIR:-/tmp}/opsbook.XXXXXXXX"',
        timeoutMs: 30_000,
      });
      dir = made.stdout.trim();
      if (made.exitCode !== 0 || !dir.startsWith('/'))
        throw new runnerErrors.WorkFailedError(
          'SCRIPT_STAGING',
          `could not create a temporary folder on ${transport.host}: ${made.stderr.trim()}`,
        );
      this.remoteDirs.set(transport, dir);
    }
    const remote = `${dir}/${script.sha256.slice(0, 12)}-${path.posix.basename(script.path)}`;
    // The bytes checked above, from memory: a file read again by path could be another by then.
    await transport.writeFile(remote, bytes, { mode: 0o700 });
    const files = this.staged.get(transport) ?? new Set<string>();
    files.add(remote);
    this.staged.set(transport, files);
    return remote;
  }

  /**
   * Removes the staged folders of `transport`'s host and of the runner machine. A host that is
   * not answering (it did not confirm a command's kill) is not asked: the removal would wait out
   * its 30 s timeout for nothing, and the run would end past a second Ctrl-C's bound. Its folder
   * is left there, and returned (with the script files in it) for the run to say so.
   */
  async cleanup(
    transport: Transport,
    options: { isHostAnswering?: boolean } = {},
  ): Promise<{ dir: string; files: string[] } | undefined> {
    let left: { dir: string; files: string[] } | undefined;
    for (const [t, dir] of this.remoteDirs) {
      if (t !== transport && t !== this.local) continue;
      if (t === transport && t !== this.local && options.isHostAnswering === false) {
        left = { dir, files: [...(this.staged.get(t) ?? [])] };
        continue;
      }
      await t.exec({ command: `rm -rf -- ${quoteShellArg(dir)}`, timeoutMs: 30_000 });
    }
    return left;
  }
}
