import { describe, expect, it } from 'vitest';
import { readPgDumpHeader } from './pg-dump-header.js';

/** A header as pg_dump's WriteHead writes it: an int is a sign byte and intSize bytes, LSB first. */
function header(options: {
  version: [number, number, number];
  intSize?: number;
  strings?: Array<string | null>;
  truncateTo?: number;
}): Buffer {
  const intSize = options.intSize ?? 4;
  const int = (value: number) => {
    const bytes = [value < 0 ? 1 : 0];
    let rest = Math.abs(value);
    for (let i = 0; i < intSize; i++) {
      bytes.push(rest % 256);
      rest = Math.floor(rest / 256);
    }
    return Buffer.from(bytes);
  };
  const str = (s: string | null) =>
    s === null ? int(-1) : Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  const [major, minor, revision] = options.version;
  const parts = [
    Buffer.from('PGDMP'),
    Buffer.from([major, minor, revision, intSize, 8, 1]),
    // Compression: one byte (the algorithm) from 1.15, an int (the level, -1 default) before.
    minor >= 15 ? Buffer.from([1]) : int(-1),
    ...[32, 44, 13, 4, 11, 126, 0].map(int),
    ...(options.strings ?? ['app', '16.4', '16.4 (Debian 16.4-1.pgdg120+2)']).map(str),
    Buffer.from('the table of contents follows'),
  ];
  const all = Buffer.concat(parts);
  return options.truncateTo === undefined ? all : all.subarray(0, options.truncateTo);
}

describe('readPgDumpHeader', () => {
  it("reads pg_dump's version from a format 1.14 header (PostgreSQL 12-15: the compression is an int)", () => {
    expect(
      readPgDumpHeader(
        header({
          version: [1, 14, 0],
          strings: ['b64', '15.18', '15.18 (Debian 15.18-0+deb12u1)'],
        }),
      ),
    ).toEqual({
      format: '1.14.0',
      pgDumpVersion: 'pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)',
    });
  });

  it('reads it from a format 1.15 and 1.16 header (PostgreSQL 16 on: the compression is a byte)', () => {
    for (const minor of [15, 16])
      expect(readPgDumpHeader(header({ version: [1, minor, 0] }))?.pgDumpVersion).toBe(
        'pg_dump (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+2)',
      );
  });

  it('reads an 8-byte int header, a database name of none, and a development version', () => {
    expect(
      readPgDumpHeader(
        header({ version: [1, 16, 0], intSize: 8, strings: [null, '18devel', '18devel'] }),
      ),
    ).toEqual({ format: '1.16.0', pgDumpVersion: 'pg_dump (PostgreSQL) 18devel' });
  });

  it('gives only the format when the header names no version or cannot be read', () => {
    // Before 1.10 (PostgreSQL 8.x) the header holds no versions.
    expect(readPgDumpHeader(header({ version: [1, 9, 0] }))).toEqual({ format: '1.9.0' });
    // Cut before pg_dump's version.
    expect(readPgDumpHeader(header({ version: [1, 14, 0], truncateTo: 70 }))).toEqual({
      format: '1.14.0',
    });
    // What is there is not a version.
    expect(
      readPgDumpHeader(header({ version: [1, 14, 0], strings: ['app', '15', 'PGDMP\n\u0000x'] })),
    ).toEqual({ format: '1.14.0' });
    expect(readPgDumpHeader(header({ version: [2, 0, 0] }))).toEqual({ format: '2.0.0' });
  });

  it('is undefined for what is not a custom-format archive', () => {
    expect(readPgDumpHeader(Buffer.from('-- PostgreSQL database dump\n'))).toBeUndefined();
    expect(readPgDumpHeader(Buffer.from('PGDMP'))).toBeUndefined();
    expect(readPgDumpHeader(Buffer.alloc(0))).toBeUndefined();
  });
});
