import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, stateConfigOf } from './config.js';
import { UsageError, ValidationError } from './errors.js';

const raw = { apiVersion: 'opsbook/v1', kind: 'Config' } as const;

describe('stateConfigOf', () => {
  it('is the files store by default, PostgreSQL from opsbook.yaml, and OPSBOOK_DATABASE_URL over both', () => {
    expect(stateConfigOf(raw, {})).toEqual({ kind: 'files' });
    const yaml = { ...raw, state: { kind: 'postgres', url: 'postgres://ops@db/opsbook' } } as const;
    expect(stateConfigOf(yaml, {})).toEqual({ kind: 'postgres', url: 'postgres://ops@db/opsbook' });
    expect(stateConfigOf(yaml, { OPSBOOK_DATABASE_URL: 'postgresql://other@db2:5433/x' })).toEqual({
      kind: 'postgres',
      url: 'postgresql://other@db2:5433/x',
    });
  });

  it('refuses an OPSBOOK_DATABASE_URL that is not a PostgreSQL url, naming the variable', () => {
    const attempt = () => stateConfigOf(raw, { OPSBOOK_DATABASE_URL: 'not a url' });
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(/OPSBOOK_DATABASE_URL is not a PostgreSQL url/);
  });

  // A password with a character that ends a url's host part (/ ? #) cut the url early: the
  // driver then connected to a fragment of the password as a host, and the messages named it
  // (`at Kx7:5432/Vy3@127.0.0.1:5432/opsbook` for the password Zq9@Kx7/Vy3), or it failed as a bug report.
  const leaky = ['Zq9@Kx7/Vy3', 'Zq9#Kx7', 'Zq9?Kx7', 'Zq9/Kx7', 'Zq9@Kx7#Vy3', 'Zq9@Kx7?Vy3'];

  it('refuses an OPSBOOK_DATABASE_URL whose password ends the host early, and never repeats it', () => {
    for (const password of leaky) {
      const url = `postgres://ops:${password}@127.0.0.1:5432/opsbook`;
      let thrown: unknown;
      try {
        stateConfigOf(raw, { OPSBOOK_DATABASE_URL: url });
      } catch (e) {
        thrown = e;
      }
      expect(thrown, password).toBeInstanceOf(UsageError);
      const message = (thrown as Error).message;
      expect(message).toMatch(/OPSBOOK_DATABASE_URL/);
      expect(message).toMatch(/%40/);
      for (const part of password.split(/[@/#?]/)) expect(message).not.toContain(part);
      expect(JSON.stringify(thrown)).not.toContain(password);
    }
  });

  it('refuses such a state.url in opsbook.yaml at its line, and never repeats it', () => {
    for (const password of leaky) {
      const yaml = {
        ...raw,
        state: { kind: 'postgres', url: `postgres://ops:${password}@db/opsbook` },
      } as const;
      let thrown: unknown;
      try {
        stateConfigOf(yaml, {}, () => ({ file: 'opsbook.yaml', line: 7, col: 8 }));
      } catch (e) {
        thrown = e;
      }
      expect(thrown, password).toBeInstanceOf(ValidationError);
      const message = (thrown as Error).message;
      expect(message).toMatch(/^opsbook\.yaml:7/);
      expect(message).toMatch(/state\.url/);
      for (const part of password.split(/[@/#?]/)) expect(message).not.toContain(part);
    }
  });

  it('takes a percent-encoded password, an @ only in the user part, and a query with %40', () => {
    for (const url of [
      `postgres://ops:${encodeURIComponent('se@cr/et#?')}@127.0.0.1:5432/opsbook`,
      'postgres://ops:p@ss@db/opsbook',
      'postgres://ops@db/opsbook?application_name=ops%40runner',
      'postgresql:///opsbook?host=/var/run/postgresql',
    ])
      expect(stateConfigOf(raw, { OPSBOOK_DATABASE_URL: url })).toEqual({ kind: 'postgres', url });
  });

  it('names the line of state.url when loadConfig reads such a url from opsbook.yaml', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-state-url-'));
    try {
      await writeFile(
        path.join(dir, 'opsbook.yaml'),
        'apiVersion: opsbook/v1\nkind: Config\nstate:\n  kind: postgres\n  url: postgres://ops:Zq9@Kx7/Vy3@db/opsbook\n',
      );
      const attempt = loadConfig({ cwd: dir, env: {} });
      await expect(attempt).rejects.toThrow(ValidationError);
      await expect(attempt).rejects.toThrow(/^opsbook\.yaml:5:8: state\.url does not read as one/);
      await expect(attempt).rejects.not.toThrow(/Kx7|Vy3|Zq9/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // opsbook.yaml is committed with the repository (README, DESIGN §9: secrets never live in it):
  // a password written into its state.url is read by everyone who can read the repository.
  it('refuses a password in opsbook.yaml state.url at its line, without repeating it', () => {
    for (const url of [
      'postgres://ops:Zq9Kx7Vy3@db/opsbook',
      `postgres://ops:${encodeURIComponent('se@cr/et')}@db/opsbook`,
      'postgres://ops@db/opsbook?password=Zq9Kx7Vy3',
      'postgresql://ops@db/opsbook?sslmode=require&password=Zq9Kx7Vy3',
    ]) {
      const yaml = { ...raw, state: { kind: 'postgres', url } } as const;
      let thrown: unknown;
      try {
        stateConfigOf(yaml, {}, () => ({ file: 'opsbook.yaml', line: 5, col: 8 }));
      } catch (e) {
        thrown = e;
      }
      expect(thrown, url).toBeInstanceOf(ValidationError);
      const message = (thrown as Error).message;
      expect(message).toMatch(/^opsbook\.yaml:5:8: state\.url holds a password/);
      expect(message).toMatch(/PGPASSWORD/);
      expect(message).toMatch(/~\/\.pgpass/);
      expect(message).toMatch(/OPSBOOK_DATABASE_URL/);
      expect(message).not.toMatch(/Zq9|Kx7|se@cr|se%40cr/);
      expect(JSON.stringify(thrown)).not.toMatch(/Zq9|Kx7|se%40cr/);
    }
  });

  it('takes a password in OPSBOOK_DATABASE_URL, from the environment, over a state.url without one', () => {
    const yaml = { ...raw, state: { kind: 'postgres', url: 'postgres://ops@db/opsbook' } } as const;
    const url = 'postgres://ops:Zq9Kx7Vy3@db/opsbook';
    expect(stateConfigOf(yaml, { OPSBOOK_DATABASE_URL: url })).toEqual({ kind: 'postgres', url });
    // The environment wins, so a password in opsbook.yaml is refused only when it would be read.
    const leaky = { ...raw, state: { kind: 'postgres', url } } as const;
    expect(stateConfigOf(leaky, { OPSBOOK_DATABASE_URL: url })).toEqual({ kind: 'postgres', url });
  });

  it('names the line of a state.url with a password when loadConfig reads opsbook.yaml', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-state-url-'));
    try {
      await writeFile(
        path.join(dir, 'opsbook.yaml'),
        'apiVersion: opsbook/v1\nkind: Config\nstate:\n  kind: postgres\n  url: postgres://ops:Zq9Kx7Vy3@db/opsbook\n',
      );
      const attempt = loadConfig({ cwd: dir, env: {} });
      await expect(attempt).rejects.toThrow(ValidationError);
      await expect(attempt).rejects.toThrow(/^opsbook\.yaml:5:8: state\.url holds a password/);
      await expect(attempt).rejects.not.toThrow(/Zq9Kx7Vy3/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
