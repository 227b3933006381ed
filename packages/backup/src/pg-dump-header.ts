/**
 * What the header of a `pg_dump --format=custom` archive says of the pg_dump that wrote it. The
 * header (pg_backup_archiver.c, WriteHead) is: `PGDMP`, the archive format's version (major,
 * minor, revision bytes), the int size, the offset size, the format byte, the compression (one
 * byte from format 1.15, PostgreSQL 16; an int before), the creation time (7 ints), then three
 * strings: the database name, the server's version and pg_dump's own version (from format 1.10,
 * PostgreSQL 9.0). An int is a sign byte and `intSize` bytes, least significant first; a string is
 * its length as an int (-1: none) and its bytes.
 *
 * Reading pg_dump's version here, from the bytes the backup keeps, costs the host nothing: a
 * `pg_dump --version` on Debian runs through the pg_wrapper Perl script, ~50 ms before the dump.
 */
export interface PgDumpHeader {
  /** The archive format, e.g. `1.14.0` (PostgreSQL 12–15). */
  format: string;
  /** As `pg_dump --version` prints it, e.g. `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`. */
  pgDumpVersion?: string;
}

/** Enough bytes for any header: the three strings are a name and two short version texts. */
export const PG_DUMP_HEADER_BYTES = 4096;

/** The header of a custom-format archive, from its first bytes; undefined when it is not one. */
export function readPgDumpHeader(head: Buffer): PgDumpHeader | undefined {
  if (head.length < 11 || head.toString('latin1', 0, 5) !== 'PGDMP') return undefined;
  const [major, minor, revision, intSize] = [head[5]!, head[6]!, head[7]!, head[8]!];
  const format = `${major}.${minor}.${revision}`;
  if (major !== 1 || intSize < 1 || intSize > 8) return { format };
  let at = 11;
  const readInt = (): number | undefined => {
    if (at + 1 + intSize > head.length) return undefined;
    let value = 0;
    for (let i = intSize - 1; i >= 0; i--) value = value * 256 + head[at + 1 + i]!;
    const negative = head[at] !== 0;
    at += 1 + intSize;
    return negative ? -value : value;
  };
  const readString = (): string | null | undefined => {
    const length = readInt();
    if (length === undefined) return undefined;
    if (length < 0) return null;
    if (length > 1024 || at + length > head.length) return undefined;
    const text = head.toString('utf8', at, at + length);
    at += length;
    return text;
  };
  // Formats before 1.10 (PostgreSQL 8.x) do not record pg_dump's version.
  if (minor < 10) return { format };
  if (minor >= 15) at += 1;
  else if (readInt() === undefined) return { format };
  for (let i = 0; i < 7; i++) if (readInt() === undefined) return { format };
  const database = readString();
  const server = readString();
  const dumper = readString();
  if (database === undefined || server === undefined || !dumper) return { format };
  // A version, in printable characters: what a later format might put here instead is not one.
  if (!/^\d+(\.\d+)*\S*( \([\x20-\x7e]{1,200}\))?$/.test(dumper)) return { format };
  return { format, pgDumpVersion: `pg_dump (PostgreSQL) ${dumper}` };
}
