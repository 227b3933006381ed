import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@opsbook/schema';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { textDoc } from '@opsbook/tracker';
import { afterEach, describe, expect, it } from 'vitest';
import { openTracker } from '../src/index.js';

let dir: string | undefined;
let fake: JiraFake | undefined;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
  try {
    await fake?.closeExpectingNone();
  } finally {
    fake = undefined;
  }
});

/** opsbook.yaml naming Jira with `jira` lines under `tracker.jira`, loaded. */
async function configWith(...jira: string[]) {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-visibility-'));
  const file = path.join(dir, 'opsbook.yaml');
  const lines = [
    'tracker:',
    '  kind: jira',
    '  jira:',
    '    project: OPS',
    ...jira.map((l) => `    ${l}`),
  ];
  await writeFile(
    file,
    ['apiVersion: opsbook/v1', 'kind: Config', `stateDir: ${dir}/state`, ...lines, ''].join('\n'),
  );
  return loadConfig({ cwd: dir, file });
}

describe('tracker.jira.commentVisibility in opsbook.yaml', () => {
  it('restricts the comments of the tracker opsbook.yaml opens', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    const config = await configWith('commentVisibility: { type: role, value: Developers }');
    const { tracker } = openTracker(config, fake.env);
    const { key } = await tracker.create({ summary: 'disk' });
    await tracker.comment(key, textDoc('run output'));
    expect(fake.issue(key)?.comments[0]?.visibility).toEqual({ type: 'role', value: 'Developers' });
  });

  it.each([
    ['flavour: datacenter', 'an explicit flavour'],
    ['timeout: 30s', 'a personal access token (JIRA_PAT)'],
  ])('refuses an identifier on Data Center at its line (%s: %s)', async (line) => {
    fake = await startJiraFake({ flavour: 'datacenter' });
    const config = await configWith(
      line,
      'commentVisibility:',
      '  type: group',
      '  value: ops',
      '  identifier: "1234"',
    );
    let thrown: (Error & { kind?: string }) | undefined;
    try {
      openTracker(config, fake.env);
    } catch (e) {
      thrown = e as Error & { kind?: string };
    }
    expect(thrown?.kind).toBe('invalid');
    expect(thrown?.message).toMatch(/opsbook\.yaml:12:\d+/);
    expect(thrown?.message).toMatch(/identifier/);
    expect(thrown?.message).toMatch(/Data Center/);
  });
});
