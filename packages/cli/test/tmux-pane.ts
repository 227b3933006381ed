import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { quoteShellArg } from '@opsbook/exec';
import { type Site, waitFor } from './opsbook-world.js';
import { binPath, userEnv } from './run-cli.js';

const execFileAsync = promisify(execFile);

/**
 * A tmux server of one test file alone, and one pane in it. Its socket is a file of the test's world
 * folder, so removing the world removes it too (a killed server leaves its socket file behind).
 */
export class Pane {
  folder = '';
  socket = '';
  private started = 0;
  tmux(args: string[]) {
    return execFileAsync('tmux', ['-S', this.socket, ...args]);
  }
  /**
   * Starts `command` (shell text) in a 120×40 pane that stays after the command ended. Each
   * start gets a server of its own: `kill-server` returns before the old server has gone, and a
   * new session on its socket could reach the dying server ("server exited unexpectedly").
   */
  async start(command: string) {
    await this.stop();
    this.socket = path.join(this.folder, `tmux-${++this.started}.sock`);
    await this.tmux([
      'new-session',
      '-d',
      '-x',
      '120',
      '-y',
      '40',
      `${command}; echo "[exit $?]"; exec sleep 3600`,
    ]);
  }
  /** The pane's text as a person sees it now (without colours). */
  async text(): Promise<string> {
    return (await this.tmux(['capture-pane', '-p', '-J', '-S', '-200'])).stdout;
  }
  async waitForText(check: (text: string) => boolean, what: string): Promise<string> {
    let last = '';
    const isThere = async () => {
      last = await this.text();
      return check(last);
    };
    await waitFor(isThere, what).catch((e: Error) => {
      throw new Error(`${e.message}; the pane:\n${last}`);
    });
    return last;
  }
  async stop() {
    if (!this.socket) return;
    await this.tmux(['kill-server']).catch(() => {});
  }
}

/**
 * `opsbook ARGS` as shell text that runs it in `site`'s folder with exactly its environment (plus
 * `env`, and a terminal's TERM), as a user would type it in the pane.
 */
export function terminalCommand(site: Site, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const all = { ...userEnv({ ...site.env, ...env }), TERM: 'xterm-256color' };
  const assignments = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => quoteShellArg(`${k}=${v}`));
  return `cd ${quoteShellArg(site.dir)} && env -i ${assignments.join(' ')} ${[process.execPath, binPath, ...args].map((a) => quoteShellArg(a)).join(' ')}`;
}
