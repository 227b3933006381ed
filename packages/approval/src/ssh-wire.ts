/**
 * The SSH wire encoding (RFC 4251 §5) used by public key blobs, signatures, SSHSIG and the
 * agent protocol. Reading is bounds-checked: a short or lying length never reads past the end.
 */
export class SshReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get isAtEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  readBytes(n: number): Buffer {
    if (n < 0 || n > this.remaining)
      throw new SshWireError(`needs ${n} bytes, ${this.remaining} left`);
    const out = Buffer.from(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  readByte(): number {
    return this.readBytes(1)[0] as number;
  }

  readUint32(): number {
    return this.readBytes(4).readUInt32BE(0);
  }

  readString(): Buffer {
    return this.readBytes(this.readUint32());
  }

  /** A string that must be printable ASCII (algorithm names, namespaces). */
  readText(): string {
    const bytes = this.readString();
    if (!/^[\x20-\x7e]*$/.test(bytes.toString('latin1')))
      throw new SshWireError('name is not printable ASCII');
    return bytes.toString('latin1');
  }

  /** An mpint as unsigned magnitude bytes without leading zeros; negative values are refused. */
  readPositiveMpint(): Buffer {
    const raw = this.readString();
    if (raw.length > 0 && (raw[0] as number) & 0x80) throw new SshWireError('negative mpint');
    if (raw.length > 1 && raw[0] === 0 && !((raw[1] as number) & 0x80))
      throw new SshWireError('mpint has a needless leading zero');
    let start = 0;
    while (start < raw.length && raw[start] === 0) start++;
    return raw.subarray(start);
  }

  /** Refuse trailing bytes: a blob must say exactly one thing. */
  expectEnd(what: string): void {
    if (!this.isAtEnd)
      throw new SshWireError(`${this.remaining} unexpected trailing bytes after ${what}`);
  }
}

export class SshWireError extends Error {
  override readonly name = 'SshWireError';
}

export function sshUint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export function sshString(value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  return Buffer.concat([sshUint32(bytes.length), bytes]);
}

/** Encode an unsigned magnitude as an mpint (a leading zero when the top bit is set). */
export function sshMpint(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.subarray(start));
  const needsZero = trimmed.length > 0 && (trimmed[0] as number) & 0x80;
  return sshString(needsZero ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}
