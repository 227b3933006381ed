import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@opsbook/schema';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, expect, it } from 'vitest';
import { openTracker, showTicket } from '../src/index.js';

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

it('ticket show --comments says how many older comments it left out past the newest 5,000', async () => {
  fake = await startJiraFake({ flavour: 'datacenter' });
  const issue = fake.seed({ summary: 'busy ticket' });
  for (let i = 0; i < 5010; i++)
    issue.comments.push({
      id: String(30000 + i),
      author: fake.users[0]!,
      body: `c${i}`,
      created: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 1000)
        .toISOString()
        .replace('Z', '+0000'),
      properties: [],
    });
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-show-comments-'));
  const file = path.join(dir, 'opsbook.yaml');
  await writeFile(
    file,
    `apiVersion: opsbook/v1\nkind: Config\nstateDir: ${dir}/state\ntracker:\n  kind: jira\n  jira: { project: OPS }\n`,
  );
  const services = openTracker(await loadConfig({ cwd: dir, file }), fake.env);
  const view = await showTicket(services, issue.key, { comments: true });
  expect(view.comments).toHaveLength(5000);
  expect(view.comments?.at(-1)?.text).toBe('c5009');
  expect(view.olderCommentsLeftOut).toBe(10);
});
