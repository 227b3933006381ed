import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

let dir: string | undefined;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** opsbook.yaml with `tracker.jira` given as YAML lines (indented under `jira:`). */
async function configWith(...jira: string[]) {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-visibility-'));
  const file = path.join(dir, 'opsbook.yaml');
  await writeFile(
    file,
    [
      'apiVersion: opsbook/v1',
      'kind: Config',
      'tracker:',
      '  kind: jira',
      '  jira:',
      '    project: OPS',
      ...jira.map((l) => `    ${l}`),
      '',
    ].join('\n'),
  );
  return loadConfig({ cwd: dir, file });
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { code: string; kind: string },
  );

describe('tracker.jira.commentVisibility', () => {
  it('takes a role or a group by name, and on Cloud an identifier', async () => {
    const role = await configWith('commentVisibility: { type: role, value: Developers }');
    expect(role.raw.tracker?.jira?.commentVisibility).toEqual({
      type: 'role',
      value: 'Developers',
    });
    const group = await configWith(
      'flavour: cloud',
      'commentVisibility:',
      '  type: group',
      '  value: ops-team',
      '  identifier: 276f955c-63d7-42c8-9520-92d01dca0625',
    );
    expect(group.raw.tracker?.jira?.commentVisibility).toMatchObject({
      type: 'group',
      identifier: '276f955c-63d7-42c8-9520-92d01dca0625',
    });
  });

  it('refuses a type other than role or group at its line, saying which are allowed', async () => {
    const e = await refusal(configWith('commentVisibility: { type: team, value: ops }'));
    expect(e?.kind).toBe('invalid');
    expect(e?.message).toMatch(/opsbook\.yaml:7:\d+/);
    expect(e?.message).toMatch(/role/);
    expect(e?.message).toMatch(/group/);
  });

  it('refuses a visibility without a value, or a blank one, at its line', async () => {
    const missing = await refusal(configWith('commentVisibility: { type: role }'));
    expect(missing?.message).toMatch(/opsbook\.yaml:7:\d+/);
    expect(missing?.message).toMatch(/value/);
    const blank = await refusal(configWith('commentVisibility: { type: role, value: "  " }'));
    expect(blank?.message).toMatch(/opsbook\.yaml:7:\d+/);
  });
});
