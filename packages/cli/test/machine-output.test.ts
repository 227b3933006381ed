import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { filesStore } from '@opsbook/state';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRun } from './inspection-history.js';
import { runCli, userEnv } from './run-cli.js';

/*
 * A machine-readable document on stdout (`--format json`, `--format csv`) is written as its
 * renderer made it, not through the rewriting that keeps control characters of human output off
 * the terminal: that rewriting put `\x0d` at the end of CSV records and `\x85`, which is no JSON
 * escape, into JSON strings. The document itself carries no raw control character either.
 */

let tmp: { dir: string; remove: () => Promise<void> };
let dir: string;
/** What a hostile host said about its disk: C1 (NEL, CSI), DEL and an OSC title sequence. */
const message = 'disk \u0085full\u009b2J \u007f \u001b]0;pwned\u0007';

beforeAll(async () => {
  tmp = await makeTempDir();
  dir = path.join(tmp.dir, 'repo');
  await mkdir(dir);
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\ninventory: inventory.yaml\n',
  );
  await writeFile(path.join(dir, 'inventory.yaml'), 'all:\n  hosts:\n    web-1: {}\n');
  const store = filesStore(path.join(dir, '.opsbook'));
  await inspectRun(store, '20250301-060000-day1', '2025-03-01T06:00:00Z', {
    'web-1': [
      {
        host: 'web-1',
        check: 'inspection.disk',
        subject: '/',
        status: 'crit',
        value: 95,
        threshold: 90,
        unit: '%',
        message,
      },
    ],
  });
  await store.close();
});
afterAll(() => tmp.remove());

describe('opsbook report --format json on stdout', () => {
  it('is valid JSON that keeps a host message with C1 and DEL, and holds no raw control character', async () => {
    const r = await runCli(
      ['report', '--format', 'json', '--since', '2025-03-01', '--until', '2025-03-02'],
      { cwd: dir, env: userEnv({ OPSBOOK_DATABASE_URL: '' }) },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const report = JSON.parse(r.stdout) as { findings: { message: string }[] };
    expect(report.findings.map((f) => f.message)).toEqual([message]);
  });
});

describe('opsbook report -o FILE', () => {
  it('writes JSON with the same escapes, and Markdown with controls written out, no raw control character', async () => {
    const range = ['--since', '2025-03-01', '--until', '2025-03-02'];
    const env = userEnv({ OPSBOOK_DATABASE_URL: '' });
    for (const format of ['json', 'md']) {
      const file = path.join(tmp.dir, `report.${format}`);
      const r = await runCli(['report', '--format', format, ...range, '-o', file], {
        cwd: dir,
        env,
      });
      expect(r.code, r.stderr).toBe(0);
      const text = await readFile(file, 'utf8');
      expect(text, format).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      if (format === 'json') {
        const report = JSON.parse(text) as { findings: { message: string }[] };
        expect(report.findings.map((f) => f.message)).toEqual([message]);
      } else expect(text).toContain('crit: disk \\x85full\\x9b2J \\x7f \\x1b\\]0;pwned\\x07');
    }
  });
});
