import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintFixture } from './lint-fixture.js';

/*
 * A ShellCheck that answers --version and then never finishes: lint stops it after its timeout
 * (kept small here through the option) and fails saying which file it was checking, instead of
 * waiting forever.
 */

let temp: { dir: string; remove: () => Promise<void> };
let fake: string;
const pidFile = () => path.join(temp.dir, 'pid');

beforeAll(async () => {
  temp = await makeTempDir('opsbook-shellcheck-hang-');
  fake = path.join(temp.dir, 'shellcheck');
  await writeFile(
    fake,
    `#!/bin/sh
if [ "$1" = --version ]; then printf 'ShellCheck\\nversion: 0.9.0\\n'; exit 0; fi
echo $$ > '${pidFile()}'
exec sleep 300
`,
  );
  await chmod(fake, 0o755);
});
afterAll(() => temp.remove());

/** Whether process `pid` still runs (a zombie, killed and not yet reaped, does not). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

describe('lint with a ShellCheck that hangs', () => {
  it('stops it after the timeout and fails, naming ShellCheck and the file', async () => {
    const lint = lintFixture(
      {
        phases: '  steps:\n    - id: s\n      name: S\n      script: scripts/check.sh',
        files: { 'scripts/check.sh': '#!/bin/sh\nuptime\n' },
      },
      { shellcheck: fake, shellcheckTimeoutMs: 300 },
    );
    const error = await lint.then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe('SHELLCHECK_FAILED');
    expect(error?.message).toContain(
      `ShellCheck (${fake}) did not check scripts/check.sh within 0.3 s and was stopped`,
    );
    expect(error?.message).toContain('OPSBOOK_SHELLCHECK_TIMEOUT');
    const pid = Number((await readFile(pidFile(), 'utf8')).trim());
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < 50 && (await running(pid)); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await running(pid)).toBe(false);
  }, 20_000);
});
