import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeTar, tarCommand } from './file-backup.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-tar-argv-'));
  // A stand-in tar that prints the argv it received, so a real sh parses the command.
  await writeFile(path.join(dir, 'tar'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
  await chmod(path.join(dir, 'tar'), 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tarCommand', () => {
  it('quotes every path, so a hostile path name reaches tar as one argument and never runs', async () => {
    const hostile = [`/srv/x'; touch ${dir}/pwned; '`, '/srv/$(touch pwned2)', '/srv/a b'];
    const command = tarCommand(hostile, ['*.tmp'], 'none');
    const { stdout } = await run('sh', ['-c', command], {
      env: { PATH: `${dir}:/usr/bin:/bin` },
      cwd: dir,
    });
    expect(stdout.split('\n').slice(0, -1)).toEqual([
      '-C',
      '/',
      '--create',
      '--file=-',
      '--sparse',
      '--exclude=*.tmp',
      '--',
      ...hostile.map((p) => p.slice(1)),
    ]);
    expect(await readdir(dir)).toEqual(['tar']);
  });

  it('passes tar’s own exit status out on stderr when zstd compresses on the host', () => {
    expect(tarCommand(['/etc'], [], 'auto')).toMatch(
      /^\{ 'tar' .*; echo "opsbook-tar-exit:\$\?" >&2; \} \| zstd -q -c$/m,
    );
  });

  it('says on the first line of stdout whether the host compresses (auto), and exits 83 for zstd without zstd', async () => {
    const sh = (command: string, pathVar: string) =>
      run('/bin/sh', ['-c', command], { env: { PATH: pathVar }, cwd: dir }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    // A host with zstd (this machine's /usr/bin), and one with only tar (the stand-in).
    const withZstd = await sh(tarCommand(['/etc'], [], 'auto'), `${dir}:/usr/bin:/bin`);
    expect(withZstd.stdout.split('\n')[0]).toBe('zstd');
    expect(withZstd.stderr).toMatch(/^opsbook-zstd-version:\*\*\* Zstandard/m);
    const bare = await mkdtemp(path.join(tmpdir(), 'opsbook-no-zstd-'));
    try {
      await symlink(path.join(dir, 'tar'), path.join(bare, 'tar'));
      const auto = await sh(tarCommand(['/etc'], [], 'auto'), bare);
      expect(auto.stdout.split('\n').slice(0, 3)).toEqual(['none', '-C', '/']);
      expect(auto.stderr).toMatch(/^opsbook-tar-version:--version$/m);
      expect((await sh(tarCommand(['/etc'], [], 'zstd'), bare)).code).toBe(83);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});

describe('judgeTar', () => {
  it('turns exit 1 into named warnings', () => {
    const warnings = judgeTar(
      { exitCode: 1, signal: null, stderr: 'tar: srv/app/log.txt: file changed as we read it\n' },
      false,
      'web-1',
    );
    expect(warnings).toEqual([{ path: '/srv/app/log.txt', message: 'file changed as we read it' }]);
  });

  it('fails on exit 2, and on a zstd pipeline whose tar failed', () => {
    expect(() =>
      judgeTar({ exitCode: 2, signal: null, stderr: 'tar: nope: Cannot open\n' }, false, 'web-1'),
    ).toThrow(/tar failed/);
    expect(() =>
      judgeTar(
        { exitCode: 0, signal: null, stderr: 'tar: x: Cannot stat\nopsbook-tar-exit:2\n' },
        true,
        'web-1',
      ),
    ).toThrow(/tar failed/);
  });
});
