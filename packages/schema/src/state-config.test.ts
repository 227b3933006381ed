import { describe, expect, it } from 'vitest';
import { stateConfigOf } from './config.js';
import { UsageError } from './errors.js';

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
});
