import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Site } from './opsbook-world.js';
import type { CliResult } from './run-cli.js';

/** One line of a run journal: the event and its place in the hash chain. */
export interface JournalLine {
  type: string;
  seq: number;
  prev: string;
  hash: string;
  [field: string]: unknown;
}

export interface RunDoc {
  runId: string;
  status: string;
  hosts: Array<{
    host: string;
    status: string;
    steps: Array<{
      phase: string;
      id: string;
      status: string;
      exitCode: number | null;
      reason?: string;
    }>;
    failedStep?: { phase: string; id: string };
    rolledBack: boolean;
    error?: string;
  }>;
  journal: { path: string; head: string; count: number };
}

/** `opsbook run FILE --json`, with the document it printed (when it got as far as running). */
export async function runApproval(
  site: Site,
  file: string,
  extra: string[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<CliResult & { doc?: RunDoc }> {
  const r = await site.opsbook(['run', file, '--json', ...extra], env ? { env } : {});
  return r.stdout.trim() ? { ...r, doc: JSON.parse(r.stdout) as RunDoc } : r;
}

export function hostOf(doc: RunDoc | undefined, host: string): RunDoc['hosts'][number] {
  const found = doc?.hosts.find((h) => h.host === host);
  if (!found) throw new Error(`host ${host} is not in the run's result: ${JSON.stringify(doc)}`);
  return found;
}

export async function readJournal(file: string): Promise<JournalLine[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as JournalLine);
}

/** The step-end events of `host`, in order, as `phase:step:status`. */
export function stepEndsOf(journal: readonly JournalLine[], host: string): string[] {
  return journal
    .filter((e) => e.type === 'step-end' && e.host === host)
    .map((e) => `${e.phase}:${e.step}:${e.status}`);
}

/** Every journal file of a site's state dir. */
export async function journalFiles(site: Site): Promise<string[]> {
  const dir = path.join(site.stateDir, 'runs');
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.jsonl')).map((n) => path.join(dir, n));
}

/**
 * Whether any process on this machine (the sshd "hosts" included) has `text` in its command
 * line: how a test sees that a command opsbook started on a host is still running.
 */
export async function isAnyProcessMentioning(text: string): Promise<boolean> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) return true;
  }
  return false;
}
