import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHostsLine,
  checkHostKey,
  formatKnownHostsLine,
  hostKeyFingerprint,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.js';

const run = promisify(execFile);
interface Key {
  type: string;
  blob: Buffer;
  pub: string;
  file: string;
}

let dir = '';
let ed: Key;
let ed2: Key;
let rsa: Key;

async function makeKey(name: string, type: string): Promise<Key> {
  const file = path.join(dir, name);
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  const [keyType = '', base64 = ''] = (await readFile(`${file}.pub`, 'utf8')).split(' ');
  return { type: keyType, blob: Buffer.from(base64, 'base64'), pub: `${keyType} ${base64}`, file };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-kh-'));
  [ed, ed2, rsa] = await Promise.all([
    makeKey('ed', 'ed25519'),
    makeKey('ed2', 'ed25519'),
    makeKey('rsa', 'rsa'),
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = (text: string, host: string, port: number, key: Key) =>
  checkHostKey(parseKnownHosts(text), host, port, key.type, key.blob);

describe('checkHostKey', () => {
  it('matches a plain entry, using [host]:port for non-default ports as OpenSSH does', () => {
    expect(check(`web1 ${ed.pub}\n`, 'web1', 22, ed)).toMatchObject({
      status: 'match',
      line: 1,
      fingerprint: hostKeyFingerprint(ed.blob),
    });
    expect(check(`web1 ${ed.pub}\n`, 'web1', 2222, ed).status).toBe('unknown');
    expect(check(`[web1]:2222 ${ed.pub}\n`, 'web1', 2222, ed).status).toBe('match');
    expect(check(`[WEB1]:2222 ${ed.pub}\n`, 'Web1', 2222, ed).status).toBe('match');
    expect(knownHostsName('127.0.0.2', 2200)).toBe('[127.0.0.2]:2200');
  });

  it('matches comma lists and wildcards, and a matching negation vetoes the entry', () => {
    const text = `# comment\n\nweb1,web2 ${ed.pub}\n*.prod.example,!db.prod.example ${ed2.pub}\nweb? ${rsa.pub}\n`;
    expect(check(text, 'web2', 22, ed).status).toBe('match');
    expect(check(text, 'api.prod.example', 22, ed2)).toMatchObject({ status: 'match', line: 4 });
    expect(check(text, 'db.prod.example', 22, ed2).status).toBe('unknown');
    expect(check(text, 'web9', 22, rsa).status).toBe('match');
    expect(check(text, 'web10', 22, rsa).status).toBe('unknown');
  });

  it('matches hashed entries written by ssh-keygen -H, with and without a port', async () => {
    const file = path.join(dir, 'hashed_known_hosts');
    await writeFile(file, `web1 ${ed.pub}\n[127.0.0.5]:2022 ${rsa.pub}\n`);
    await run('ssh-keygen', ['-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('web1');
    expect(check(text, 'web1', 22, ed).status).toBe('match');
    expect(check(text, '127.0.0.5', 2022, rsa).status).toBe('match');
    expect(check(text, '127.0.0.5', 2022, ed).status).toBe('changed');
    expect(check(text, 'web2', 22, ed).status).toBe('unknown');
  });

  it('reports a changed key with both fingerprints, also when the server offers another key type', () => {
    const changed = check(`web1 ${ed.pub}\n`, 'web1', 22, ed2);
    expect(changed).toEqual({
      status: 'changed',
      fingerprint: hostKeyFingerprint(ed2.blob),
      knownFingerprints: [hostKeyFingerprint(ed.blob)],
      lines: [1],
    });
    expect(check(`web1 ${ed.pub}\n`, 'web1', 22, rsa).status).toBe('changed');
  });

  it('finds a host named by plain, wildcard and hashed lines alike, in file order, whichever is asked first', async () => {
    const hashed = formatKnownHostsLine('web1', 22, ed.type, ed.blob, { hash: true });
    const text = `web? ${rsa.pub}\nWEB1,web2 ${ed2.pub}\n${hashed}\nweb1 ${ed.pub}\n`;
    const known = parseKnownHosts(text);
    expect(knownKeyTypes(known, 'web1', 22)).toEqual(
      [rsa.type, ed2.type, ed.type].filter((t, i, all) => all.indexOf(t) === i),
    );
    // A key none of the four lines holds: every line naming web1, in file order.
    const other = checkHostKey(known, 'web1', 22, 'ssh-ed25519', Buffer.from(ed.blob).fill(1, 30));
    expect(other).toMatchObject({ status: 'changed', lines: [1, 2, 3, 4] });
    expect(checkHostKey(known, 'web1', 22, ed.type, ed.blob)).toMatchObject({ line: 3 });
    expect(checkHostKey(known, 'web2', 22, ed2.type, ed2.blob)).toMatchObject({ line: 2 });
    expect(checkHostKey(known, 'web3', 22, rsa.type, rsa.blob)).toMatchObject({ line: 1 });
  });

  it('refuses a @revoked key even when another line trusts it', () => {
    const text = `web1 ${ed.pub}\n@revoked * ${ed.pub}\n`;
    expect(check(text, 'web1', 22, ed)).toMatchObject({ status: 'revoked', line: 2 });
    expect(check(`@revoked other ${ed.pub}\nweb1 ${ed.pub}\n`, 'web1', 22, ed).status).toBe(
      'revoked',
    );
  });

  it('never trusts a key on a @cert-authority line alone: the verdict names the CA lines', () => {
    const verdict = check(`@cert-authority *.example ${ed.pub}\n`, 'web.example', 22, ed);
    expect(verdict).toMatchObject({ status: 'cert-authority', lines: [1] });
  });

  it('reports malformed lines as problems and skips them', () => {
    const parsed = parseKnownHosts(
      `web1\n@bogus web1 ${ed.pub}\nweb1 ssh-ed25519 !!!!\nweb1 ssh-rsa ${ed.pub.split(' ')[1]}\n|2|a|b ${ed.pub}\n`,
    );
    expect(parsed.entries).toEqual([]);
    expect(parsed.problems.map((p) => [p.line, p.rule])).toEqual([
      [1, 'known-hosts-syntax'],
      [2, 'known-hosts-marker'],
      [3, 'known-hosts-key'],
      [4, 'known-hosts-key'],
      [5, 'known-hosts-hash'],
    ]);
  });

  it('computes the same SHA256 fingerprint as ssh-keygen -l', async () => {
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${ed.file}.pub`]);
    expect(stdout.split(' ')[1]).toBe(hostKeyFingerprint(ed.blob));
  });
});

describe('formatKnownHostsLine and appendKnownHostsLine', () => {
  it('writes plain and hashed lines that OpenSSH (ssh-keygen -F) finds', async () => {
    const file = path.join(dir, 'written_known_hosts');
    await writeFile(file, `other ${ed2.pub}`); // no final newline: append must repair it
    await appendKnownHostsLine(file, formatKnownHostsLine('127.0.0.2', 2200, ed.type, ed.blob));
    await appendKnownHostsLine(
      file,
      formatKnownHostsLine('web1', 22, rsa.type, rsa.blob, { hash: true }),
    );
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toContain(`[127.0.0.2]:2200 ${ed.pub}\n`);
    const found = await run('ssh-keygen', ['-F', 'web1', '-f', file]);
    expect(found.stdout).toContain(rsa.pub.split(' ')[1]);
    const foundPort = await run('ssh-keygen', ['-F', '[127.0.0.2]:2200', '-f', file]);
    expect(foundPort.stdout).toContain(ed.pub.split(' ')[1]);
    expect(check(text, 'web1', 22, rsa).status).toBe('match');
  });

  it('creates a missing known_hosts file private to its owner', async () => {
    const file = path.join(dir, 'new', 'known_hosts');
    await appendKnownHostsLine(file, formatKnownHostsLine('h', 22, ed.type, ed.blob));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(`h ${ed.pub}\n`);
  });
});
