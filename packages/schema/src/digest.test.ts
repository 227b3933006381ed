import { execFileSync } from 'node:child_process';
import {
  appendFile,
  chmod,
  cp,
  readFile,
  rename,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test/temp-dir.js';
import { digestRunbook } from './digest.js';
import { ValidationError } from './errors.js';
import { loadRunbook } from './load-runbook.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const source = path.join(repoRoot, 'runbooks', 'disk-cleanup');
const id = { packageName: '@runbooks/disk-cleanup', version: '1.0.0' };

let tmp: { dir: string; remove: () => Promise<void> };
let n = 0;
async function copy(): Promise<string> {
  const dir = path.join(tmp.dir, `copy-${n++}`);
  await cp(source, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(() => tmp.remove());

describe('digestRunbook', () => {
  it('is the same for two copies with different locations, times and modes', async () => {
    const a = await copy();
    const b = await copy();
    await utimes(path.join(b, 'runbook.yaml'), new Date(0), new Date(0));
    await chmod(path.join(b, 'scripts', 'check-usage.sh'), 0o600);
    const da = await digestRunbook(a, id);
    expect(da.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await digestRunbook(b, id)).digest).toBe(da.digest);
    expect(da.files.map((f) => f.path)).toEqual([
      'package.json',
      'runbook.yaml',
      'scripts/check-usage.sh',
    ]);
  });

  it('is the same in two git clones, one made with core.autocrlf=true', async () => {
    const plain = path.join(tmp.dir, 'clone-plain');
    const crlf = path.join(tmp.dir, 'clone-crlf');
    execFileSync('git', ['clone', '-q', '--no-hardlinks', repoRoot, plain]);
    execFileSync('git', [
      '-c',
      'core.autocrlf=true',
      'clone',
      '-q',
      '--no-hardlinks',
      repoRoot,
      crlf,
    ]);
    const rel = path.join('runbooks', 'disk-cleanup');
    const pkg = JSON.parse(await readFile(path.join(plain, rel, 'package.json'), 'utf8')) as {
      version: string;
    };
    const cloneId = { packageName: id.packageName, version: pkg.version };
    const a = await digestRunbook(path.join(plain, rel), cloneId);
    const b = await digestRunbook(path.join(crlf, rel), cloneId);
    expect(b.digest).toBe(a.digest);
  });

  it('changes when one byte of a file changes', async () => {
    const a = await copy();
    const before = (await digestRunbook(a, id)).digest;
    const file = path.join(a, 'scripts', 'check-usage.sh');
    const bytes = await readFile(file);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2]! + 1) % 256;
    await writeFile(file, bytes);
    expect((await digestRunbook(a, id)).digest).not.toBe(before);
  });

  it('changes when a file is renamed', async () => {
    const a = await copy();
    const before = (await digestRunbook(a, id)).digest;
    await rename(
      path.join(a, 'scripts', 'check-usage.sh'),
      path.join(a, 'scripts', 'check-usage2.sh'),
    );
    expect((await digestRunbook(a, id)).digest).not.toBe(before);
  });

  it('changes when a script is added', async () => {
    const a = await copy();
    const before = (await digestRunbook(a, id)).digest;
    await writeFile(path.join(a, 'scripts', 'extra.sh'), 'true\n');
    expect((await digestRunbook(a, id)).digest).not.toBe(before);
  });

  it('changes when the version is bumped', async () => {
    const a = await copy();
    const before = (await digestRunbook(a, id)).digest;
    expect((await digestRunbook(a, { ...id, version: '1.0.1' })).digest).not.toBe(before);
  });

  it('does not change when CHANGELOG.md or README.md change', async () => {
    const a = await copy();
    const before = (await digestRunbook(a, id)).digest;
    await appendFile(path.join(a, 'CHANGELOG.md'), '\n- a note\n');
    await writeFile(path.join(a, 'README.md'), '# notes\n');
    expect((await digestRunbook(a, id)).digest).toBe(before);
  });

  it('does change for a README.md below the top folder', async () => {
    const a = await copy();
    const before = (await digestRunbook(a, id)).digest;
    await writeFile(path.join(a, 'scripts', 'README.md'), '# scripts\n');
    expect((await digestRunbook(a, id)).digest).not.toBe(before);
  });

  it('refuses a symlink anywhere in the bundle', async () => {
    const a = await copy();
    await symlink('/etc/passwd', path.join(a, 'scripts', 'passwd'));
    await expect(digestRunbook(a, id)).rejects.toBeInstanceOf(ValidationError);
    await expect(digestRunbook(a, id)).rejects.toThrow(/symlink \(scripts\/passwd\)/);
  });

  it('refuses a runbook.yaml that is not the one its bundle was parsed from', async () => {
    const a = await copy();
    const loaded = await loadRunbook(a);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const { bundle } = loaded;
    const signed = (await digestRunbook(a, bundle)).digest;
    const yaml = path.join(a, 'runbook.yaml');
    const original = await readFile(yaml);
    await writeFile(yaml, Buffer.concat([original, Buffer.from('# swapped\n')]));
    const swapped = await loadRunbook(a);
    if (!swapped.ok) throw new Error(JSON.stringify(swapped.problems));
    // The other copy parsed, the signed bytes back in place when the folder is digested.
    await writeFile(yaml, original);
    await expect(digestRunbook(a, swapped.bundle)).rejects.toThrow(
      /runbook\.yaml changed while opsbook read the runbook folder/,
    );
    expect((await digestRunbook(a, bundle)).digest).toBe(signed);
  });
});
