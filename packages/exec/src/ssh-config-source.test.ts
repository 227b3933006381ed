import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSshConfig } from './ssh-config.js';
import { globSegmentRegex, loadSshConfig, MAX_INCLUDE_DEPTH } from './ssh-config-source.js';

let home = '';
const env = () => ({ homeDir: home, localUser: 'ops' });
const write = async (rel: string, text: string) => {
  const file = path.join(home, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
};
const read = () => loadSshConfig(path.join(home, '.ssh/config'), { homeDir: home });

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'opsbook-ssh-config-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('loadSshConfig and Include', () => {
  it('is undefined for a missing config, as for OpenSSH', async () => {
    expect(await read()).toBeUndefined();
  });

  it('reads relative Include paths under ~/.ssh, ~/ paths, and globs in lexical order', async () => {
    await write('.ssh/config', 'Include config.d/*.conf ~/extra/ssh.conf\nHost *\n  Port 2299\n');
    await write('.ssh/config.d/20-web.conf', 'Host web1\n  Port 2220\n  User second\n');
    await write('.ssh/config.d/10-web.conf', 'Host web1\n  User first\n');
    await write('.ssh/config.d/ignored.txt', 'Host web1\n  Port 1\n');
    await write('extra/ssh.conf', 'Host db1\n  HostName 10.0.0.5\n');
    const source = await read();
    expect(resolveSshConfig(source, 'web1', env())).toMatchObject({ user: 'first', port: 2220 });
    expect(resolveSshConfig(source, 'db1', env())).toMatchObject({
      hostName: '10.0.0.5',
      port: 2299,
    });
  });

  it('skips an Include pattern that matches no file, as OpenSSH does', async () => {
    await write('.ssh/config', 'Include nothing-here/* missing.conf\nHost a\n  Port 2201\n');
    expect(resolveSshConfig(await read(), 'a', env()).port).toBe(2201);
  });

  it('applies an Include inside a Host block only to the hosts of that block', async () => {
    await write(
      '.ssh/config',
      'Host web*\n  User deploy\n  Include web.conf\n  IdentityFile ~/.ssh/web_key\nHost *\n  Port 2299\n',
    );
    await write('.ssh/web.conf', 'Port 2201\nHost web2\n  HostName 10.0.0.2\n');
    const source = await read();
    expect(resolveSshConfig(source, 'web2', env())).toMatchObject({
      hostName: '10.0.0.2',
      port: 2201,
      user: 'deploy',
      identityFiles: [path.join(home, '.ssh/web_key')],
    });
    expect(resolveSshConfig(source, 'db', env())).toMatchObject({
      hostName: 'db',
      port: 2299,
      identityFiles: [],
    });
  });

  it('refuses an Include loop with the chain of files, for every host', async () => {
    const top = await write('.ssh/config', 'Include a.conf\n');
    const a = await write('.ssh/a.conf', 'Host x\n  Include b.conf\n');
    const b = await write('.ssh/b.conf', 'Include a.conf\n');
    const source = await read();
    expect(source?.problem).toBe(
      `ssh config Include loop: ${top} includes ${a} includes ${b} includes ${a}: remove one of these Include lines`,
    );
    expect(() => resolveSshConfig(source, 'anything', env())).toThrow(/Include loop/);
  });

  it(`refuses Include nested deeper than ${MAX_INCLUDE_DEPTH}`, async () => {
    await write('.ssh/config', 'Include d0.conf\n');
    for (let i = 0; i <= MAX_INCLUDE_DEPTH + 1; i++)
      await write(`.ssh/d${i}.conf`, `Include d${i + 1}.conf\n`);
    const source = await read();
    expect(source?.problem).toMatch(/nested more than 16 deep/);
  });

  it('refuses an Include in config text that was not read through loadSshConfig', () => {
    expect(() => resolveSshConfig('Include other.conf\n', 'x', env())).toThrow(
      /Include other.conf was not loaded/,
    );
  });
});

describe('globSegmentRegex', () => {
  it('matches *, ? and [...] classes, and nothing else specially', () => {
    expect(globSegmentRegex('*.conf').test('a.conf')).toBe(true);
    expect(globSegmentRegex('*.conf').test('a.confx')).toBe(false);
    expect(globSegmentRegex('h?.c[0-9]').test('h1.c7')).toBe(true);
    expect(globSegmentRegex('h[!0-9]').test('h1')).toBe(false);
    expect(globSegmentRegex('a+b(c)').test('a+b(c)')).toBe(true);
  });
});
