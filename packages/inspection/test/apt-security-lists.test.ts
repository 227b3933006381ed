import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptListsScript, parseSecurityUpdates } from '../src/checks/security-updates.js';
import { buildCollector, section } from '../src/collector-script.js';

/**
 * The apt fast path (security suites' lists vs dpkg's status) against real apt-get on a world we
 * control: a status file, a main suite and a security suite with their Release files, and apt
 * pointed at them alone. Each package is one case of the rule.
 */
interface Case {
  name: string;
  installed: string;
  status?: string;
  main?: string;
  security?: string;
  arch?: string;
}
const CASES: Case[] = [
  { name: 'pending', installed: '1.0-1', main: '1.0-1', security: '1.0-2' },
  { name: 'installed-newer', installed: '2.0-3', main: '2.0-3', security: '2.0-2' },
  { name: 'up-to-date', installed: '3.0-1', main: '3.0-1', security: '3.0-1' },
  { name: 'main-only-update', installed: '4.0-1', main: '4.0-2' },
  { name: 'superseded-fix', installed: '5.0-1', security: '5.0-2', main: '5.0-3' },
  { name: 'tilde', installed: '6.0~rc1-1', main: '6.0~rc1-1', security: '6.0-1' },
  { name: 'epoch', installed: '1:1.0-1', main: '1:1.0-1', security: '2.0-1' },
  { name: 'arch-all', installed: '1.0', main: '1.0', security: '1.1', arch: 'all' },
  {
    name: 'config-files-only',
    installed: '1.0',
    status: 'deinstall ok config-files',
    security: '1.1',
  },
  { name: 'held', installed: '1.0', status: 'hold ok installed', main: '1.0', security: '1.1' },
];

const stanza = (fields: Record<string, string>) =>
  `${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n`;
const statusOf = (c: Case) =>
  stanza({
    Package: c.name,
    Status: c.status ?? 'install ok installed',
    Priority: 'optional',
    Maintainer: 'Ops <ops@example.invalid>',
    Architecture: c.arch ?? 'amd64',
    Version: c.installed,
    Description: 'test package',
  });
const listed = (c: Case, version: string) =>
  stanza({
    Package: c.name,
    Version: version,
    Architecture: c.arch ?? 'amd64',
    Maintainer: 'Ops <ops@example.invalid>',
    Filename: `pool/${c.name}_${version.replace(':', '%3a')}_${c.arch ?? 'amd64'}.deb`,
    Size: '1',
    Description: 'test package',
  });
const packagesFile = (suite: 'main' | 'security') =>
  CASES.flatMap((c) => (c[suite] ? [listed(c, c[suite] as string)] : [])).join('\n');

let dir = '';
const MAIN = 'deb.example.invalid_debian_dists_bookworm';
const SECURITY = 'security.example.invalid_debian-security_dists_bookworm-security';

function writeWorld(lists: string, compressSecurity: boolean): void {
  mkdirSync(lists, { recursive: true });
  const release = (label: string, suite: string, codename: string) =>
    stanza({
      Origin: 'Debian',
      Label: label,
      Suite: suite,
      Codename: codename,
      Architectures: 'amd64',
      Components: 'main',
    });
  writeFileSync(path.join(lists, `${MAIN}_Release`), release('Debian', 'stable', 'bookworm'));
  writeFileSync(path.join(lists, `${MAIN}_main_binary-amd64_Packages`), packagesFile('main'));
  writeFileSync(
    path.join(lists, `${SECURITY}_Release`),
    release('Debian-Security', 'stable-security', 'bookworm-security'),
  );
  const sec = packagesFile('security');
  const secFile = path.join(lists, `${SECURITY}_main_binary-amd64_Packages`);
  if (compressSecurity) writeFileSync(`${secFile}.gz`, gzipSync(sec));
  else writeFileSync(secFile, sec);
}

/** apt-get -s upgrade against our world only: its sources, lists, status and no preferences. */
function aptGetSecurityUpgrade(lists: string): {
  security: string[];
  inst: string[];
  held: string;
} {
  const opts = {
    'Dir::State': path.join(dir, 'state'),
    'Dir::State::status': path.join(dir, 'status'),
    'Dir::State::Lists': lists,
    'Dir::Etc::SourceList': path.join(dir, 'sources.list'),
    'Dir::Etc::SourceParts': path.join(dir, 'empty'),
    'Dir::Etc::Preferences': path.join(dir, 'empty', 'preferences'),
    'Dir::Etc::PreferencesParts': path.join(dir, 'empty'),
    'Dir::Cache': path.join(dir, 'cache'),
    'Dir::Cache::pkgcache': '',
    'Dir::Cache::srcpkgcache': '',
    'APT::Architecture': 'amd64',
    'APT::Architectures': 'amd64',
    'Debug::NoLocking': '1',
  };
  const args = ['-s', ...Object.entries(opts).flatMap(([k, v]) => ['-o', `${k}=${v}`]), 'upgrade'];
  const out = execFileSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
  const inst = out.split('\n').filter((l) => l.startsWith('Inst '));
  return {
    inst: inst.map((l) => l.split(' ')[1] ?? ''),
    security: inst.filter((l) => /security/i.test(l)).map((l) => l.split(' ')[1] ?? ''),
    held: /kept back:\n((?: .*\n)+)/.exec(out)?.[1] ?? '',
  };
}

/** The check's apt part on our paths, with the apt-get branch replaced by a marker. */
function fastPath(lists: string, env: NodeJS.ProcessEnv = process.env) {
  const script = buildCollector(
    aptListsScript(path.join(dir, 'status'), lists),
    `${section('apt')}; echo 'OPSBOOK_EXIT 0'`,
    'fi',
  );
  return parseSecurityUpdates(execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8', env }));
}

/** A PATH with only what the fast path needs besides a decompressor: apt-helper must step in. */
function pathWithoutDecompressors(): NodeJS.ProcessEnv {
  const bin = path.join(dir, 'bin-no-gzip');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['sh', 'awk', 'cat']) {
    const real = execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    if (!existsSync(path.join(bin, tool))) symlinkSync(real, path.join(bin, tool));
  }
  return { PATH: bin };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'opsbook-apt-'));
  for (const d of ['state', 'empty', 'cache/archives/partial'])
    mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, 'status'), CASES.map(statusOf).join('\n'));
  writeFileSync(
    path.join(dir, 'sources.list'),
    [
      'deb [trusted=yes] http://deb.example.invalid/debian bookworm main',
      'deb [trusted=yes] http://security.example.invalid/debian-security bookworm-security main',
      '',
    ].join('\n'),
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inspection.security-updates on apt: the security lists against the installed versions', () => {
  const FAST = ['pending', 'superseded-fix', 'tilde', 'arch-all', 'held'];

  it.each([
    ['uncompressed', 'plain'],
    ['gzip-compressed', 'gzip'],
    ['gzip-compressed, on a host without gzip (read by apt-helper cat-file),', 'apt-helper'],
  ])(
    'with %s lists: finds what apt-get -s upgrade finds, plus held and superseded fixes',
    (_, how) => {
      const lists = path.join(dir, `lists-${how}`);
      writeWorld(lists, how !== 'plain');
      const env = how === 'apt-helper' ? pathWithoutDecompressors() : process.env;
      const fast = fastPath(lists, env);
      expect(fast).toEqual({
        ok: true,
        data: { manager: 'apt', packages: expect.any(Array), severities: {} },
      });
      const found = fast.ok ? [...fast.data.packages].sort() : [];
      expect(found).toEqual([...FAST].sort());

      // The reference: real apt on the same world.
      const apt = aptGetSecurityUpgrade(lists);
      expect(apt.security.sort()).toEqual(['arch-all', 'pending', 'tilde']);
      // Every package apt-get does not call a security upgrade is explained by apt itself: the
      // superseded fix is upgraded from the point release, the held one is kept back.
      expect(apt.inst).toContain('superseded-fix');
      expect(apt.security).not.toContain('superseded-fix');
      expect(apt.held).toContain('held');
      // And nothing apt-get would not upgrade for a newer version slipped in.
      for (const quiet of [
        'installed-newer',
        'up-to-date',
        'main-only-update',
        'epoch',
        'config-files-only',
      ])
        expect(found).not.toContain(quiet);
    },
  );

  it('falls back to apt-get -s upgrade when no security suite is configured', () => {
    const lists = path.join(dir, 'lists-main-only');
    writeWorld(lists, false);
    rmSync(path.join(lists, `${SECURITY}_main_binary-amd64_Packages`));
    const script = buildCollector(
      aptListsScript(path.join(dir, 'status'), lists),
      `${section('apt')}; echo 'Reading package lists...'; echo 'OPSBOOK_EXIT 0'`,
      'fi',
    );
    const out = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    expect(out).toContain('OPSBOOK_SECTION apt\n');
    expect(out).not.toContain('OPSBOOK_SECTION apt-lists');
  });

  it('says which list it could not read instead of answering from part of them', () => {
    const out = [
      'OPSBOOK_SECTION apt-lists',
      'OPSBOOK_UNREADABLE /var/lib/apt/lists/x_dists_bookworm-security_main_binary-amd64_Packages.lz4',
      'pending amd64 1.0-1 1.0-2',
      'OPSBOOK_EXIT 0',
    ].join('\n');
    const result = parseSecurityUpdates(out);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(/cannot read the apt list .*Packages\.lz4/);
  });
});
