import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AlertPipeline } from '@opsbook/alerts';
import { isOpsbookError } from '@opsbook/schema';

export interface RulesReloadOptions {
  /** Loads the rules and builds the pipeline (throws what loading alerts.yaml throws). */
  load: () => Promise<AlertPipeline | undefined>;
  /** The files the rules were read from, besides alerts.yaml and the ones always watched. */
  watched: (pipeline: AlertPipeline | undefined) => string[];
  /** One line for the log (stderr). */
  note: (line: string) => void;
}

/** What the watched files were: their identity (cheap) and, once read, their bytes' digest. */
interface Seen {
  identity: string;
  digest: string;
}

async function identityOf(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (f) => {
      const s = await stat(f).catch(() => undefined);
      return s ? `${f}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}` : `${f}:-`;
    }),
  );
  return parts.join('\n');
}

async function digestOf(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(await readFile(f).catch(() => Buffer.from('\0missing\0')));
  }
  return hash.digest('hex');
}

/**
 * The pipeline of `alerts serve`, reloaded when alerts.yaml (or a file it reads: on-call files,
 * the inventory, the trust store) changed since the last pass: a stat of each before every pass,
 * and a digest of their bytes only when one changed. A new file that does not load leaves the last
 * good rules in force, and says why once per change, at its file:line:col.
 */
export class RulesReloader {
  private pipeline: AlertPipeline | undefined;
  private seen: Seen | undefined;
  private failedDigest: string | undefined;
  private forced = false;

  constructor(
    private readonly rulesFile: string,
    private readonly options: RulesReloadOptions,
  ) {}

  /** The first load, at start: its errors are the command's (nothing good to keep yet). */
  async start(): Promise<AlertPipeline | undefined> {
    this.pipeline = await this.options.load();
    const files = this.files();
    this.seen = { identity: await identityOf(files), digest: await digestOf(files) };
    return this.pipeline;
  }

  /** Reload at the next pass even if nothing seems changed (SIGHUP). */
  force(): void {
    this.forced = true;
  }

  /** The pipeline for a pass: reloaded first when a watched file changed. */
  async current(): Promise<AlertPipeline | undefined> {
    const files = this.files();
    const identity = await identityOf(files);
    if (!this.forced && identity === this.seen?.identity) return this.pipeline;
    const forced = this.forced;
    this.forced = false;
    const digest = await digestOf(files);
    if (!forced && digest === this.seen?.digest) {
      this.seen = { identity, digest };
      return this.pipeline;
    }
    this.seen = { identity, digest };
    await this.reload(digest, forced);
    // What the new rules read (an on-call file they name) is watched from now on.
    const after = this.files();
    if (after.join('\n') !== files.join('\n'))
      this.seen = { identity: await identityOf(after), digest: await digestOf(after) };
    return this.pipeline;
  }

  private files(): string[] {
    return [...new Set([this.rulesFile, ...this.options.watched(this.pipeline)])];
  }

  private async reload(digest: string, forced: boolean): Promise<void> {
    const name = path.basename(this.rulesFile);
    const kept = this.pipeline
      ? `keeping ${name} version ${this.pipeline.rules.version}`
      : 'alerts are stored, not converged';
    try {
      const next = await this.options.load();
      this.failedDigest = undefined;
      if (!next) {
        if (this.pipeline) this.options.note(`rules not reloaded: there is no ${name}; ${kept}`);
        return;
      }
      this.pipeline = next;
      this.options.note(`rules reloaded: ${name} version ${next.rules.version}`);
    } catch (e) {
      if (!isOpsbookError(e)) throw e;
      if (this.failedDigest === digest && !forced) return;
      this.failedDigest = digest;
      this.options.note(`rules not reloaded (${e.code}), ${kept}:\n${e.message}`);
    }
  }
}
