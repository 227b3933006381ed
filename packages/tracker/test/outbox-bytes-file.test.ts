import { mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraTracker, type JiraTracker, Outbox } from '../src/index.js';

/*
 * The outbox lives in the state dir, which `--config` lets the engineer choose, and a team
 * runner (`sudo -u opsbook opsbook ticket run …`) flushes a ticket's queued writes at the end of
 * every run, with its own Jira credentials. A queued attachment's bytes file that the engineer
 * turned into a link to the service account's SSH key (or any file it can read) must not be
 * read and posted to the ticket, where the engineer downloads it.
 */

const RUNNER_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nservice-account-key-material\n';

describe('a queued attachment carries only the bytes the outbox wrote', () => {
  let fake: JiraFake;
  let jira: JiraTracker;
  let stateDir: string;
  let elsewhere: string;
  let outbox: Outbox;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-outbox-bytes-'));
    elsewhere = await mkdtemp(path.join(tmpdir(), 'opsbook-runner-home-'));
    jira = createJiraTracker({ project: 'OPS', flavour: 'cloud' }, fake.env, {
      effects: { sleep: async () => undefined },
      timeoutMs: 2000,
    });
    outbox = new Outbox({ stateDir, tracker: jira });
    await jira.create({ summary: 'run ticket' });
  });

  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
    await rm(elsewhere, { recursive: true, force: true });
    await fake.closeExpectingNone();
  });

  /** Queues an attachment while Jira is down; returns its entry. */
  async function queuedAttach() {
    await fake.down();
    const sent = await outbox.send(
      'OPS-1',
      { kind: 'attach', filename: 'run.journal.jsonl' },
      new TextEncoder().encode('{"journal":1}\n'),
    );
    expect(sent.delivered).toBe(false);
    await fake.up();
    const [entry] = await outbox.list();
    return entry!;
  }

  function postedBytes(): string[] {
    return (fake.issue('OPS-1')?.attachments ?? []).map((a) => Buffer.from(a.bytes).toString());
  }

  it('refuses a bytes file that is a symbolic link (to the runner account key), posting nothing', async () => {
    const entry = await queuedAttach();
    const key = path.join(elsewhere, 'id_ed25519');
    await writeFile(key, RUNNER_KEY, { mode: 0o600 });
    const bin = path.join(stateDir, 'outbox', `${entry.id}.bin`);
    await unlink(bin);
    await symlink(key, bin);

    const report = await outbox.flush();
    expect(postedBytes().join('')).not.toContain('service-account-key-material');
    expect(report.delivered).toEqual([]);
    expect(report.failed.map((e) => e.lastError)).toEqual([
      expect.objectContaining({
        code: 'TRACKER_STATE_INVALID',
        message: expect.stringContaining('is not a file the outbox wrote'),
      }),
    ]);
    // The entry stays, failed, for a person to look at; the key is untouched.
    expect(await readFile(key, 'utf8')).toBe(RUNNER_KEY);
  });

  it('refuses an entry whose id leads out of the outbox folder', async () => {
    const entry = await queuedAttach();
    await writeFile(path.join(elsewhere, 'secret.bin'), RUNNER_KEY, { mode: 0o600 });
    const file = path.join(
      stateDir,
      'outbox',
      `${String(entry.seq).padStart(10, '0')}-${entry.id}.json`,
    );
    const edited = {
      ...entry,
      id: path.relative(path.join(stateDir, 'outbox'), path.join(elsewhere, 'secret')),
    };
    await writeFile(file, JSON.stringify(edited));

    const report = await outbox.flush();
    expect(postedBytes().join('')).not.toContain('service-account-key-material');
    expect(report.delivered).toEqual([]);
    expect(report.failed.map((e) => e.lastError?.code)).toEqual(['TRACKER_STATE_INVALID']);
  });

  it('still delivers the bytes it wrote', async () => {
    await queuedAttach();
    const report = await outbox.flush();
    expect(report.delivered.map((d) => d.entry.write.kind)).toEqual(['attach']);
    expect(postedBytes()).toEqual(['{"journal":1}\n']);
  });
});
