import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@opsbook/schema';
import { afterEach, describe, expect, it } from 'vitest';
import { openTracker } from '../src/index.js';

let dir: string | undefined;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** opsbook.yaml with `tracker.jira.project` written as the YAML scalar `project`, loaded. */
async function configWith(kind: 'jira' | 'local', project: string) {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-project-key-'));
  const file = path.join(dir, 'opsbook.yaml');
  const text = [
    'apiVersion: opsbook/v1',
    'kind: Config',
    `stateDir: ${dir}/state`,
    'tracker:',
    `  kind: ${kind}`,
    '  jira:',
    `    project: ${project}`,
    '',
  ].join('\n');
  await writeFile(file, text);
  return loadConfig({ cwd: dir, file });
}

const env = {
  JIRA_BASE_URL: 'http://127.0.0.1:9',
  JIRA_EMAIL: 'bot@example.com',
  JIRA_API_TOKEN: 't',
};

describe('tracker.jira.project in opsbook.yaml', () => {
  it.each([
    ['jira', '"OPS\\t"', 'U+0009 (TAB)'],
    ['jira', '"OPS\\e[2J"', 'U+001B (ESC)'],
    ['local', '"OP S"', 'a space'],
  ] as const)(
    'refuses a key no Jira project has (%s tracker, %s) at its line, naming the character',
    async (kind, project, named) => {
      const config = await configWith(kind, project);
      let thrown: (Error & { kind?: string }) | undefined;
      try {
        openTracker(config, env);
      } catch (e) {
        thrown = e as Error & { kind?: string };
      }
      expect(thrown?.kind).toBe('invalid');
      expect(thrown?.message).toMatch(/opsbook\.yaml:7:\d+/);
      expect(thrown?.message).toContain(`tracker.jira.project holds ${named}`);
      expect(thrown?.message).not.toMatch(/[\t\u001b]/);
    },
  );

  it('takes a project key as Jira writes one', async () => {
    const config = await configWith('jira', 'OPS_2');
    expect(openTracker(config, env).project).toBe('OPS_2');
  });
});
