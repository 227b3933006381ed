import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkAcceptedHostKey, rememberAcceptedHostKey } from './accepted-host-keys.js';
import { hostKeyFingerprint } from './known-hosts.js';

const unknown = (blob: Buffer) => ({
  status: 'unknown' as const,
  fingerprint: hostKeyFingerprint(blob),
});

describe('host keys accepted as new in this process', () => {
  it('turns an unknown verdict for another key of an accepted host:port into changed (a re-key or a second connection)', () => {
    const file = `/kh-${randomBytes(4).toString('hex')}`;
    const first = randomBytes(51);
    const other = randomBytes(51);
    rememberAcceptedHostKey(file, 'Web-01', 2222, first);
    rememberAcceptedHostKey(file, 'web-01', 2222, other); // the first one stays
    expect(checkAcceptedHostKey(unknown(other), file, 'web-01', 2222, other)).toMatchObject({
      status: 'changed',
      knownFingerprints: [hostKeyFingerprint(first)],
      lines: [],
    });
    // The same key stays new (taken only with accept-new); other ports and files are apart.
    expect(checkAcceptedHostKey(unknown(first), file, 'web-01', 2222, first).status).toBe(
      'unknown',
    );
    expect(checkAcceptedHostKey(unknown(other), file, 'web-01', 22, other).status).toBe('unknown');
    expect(checkAcceptedHostKey(unknown(other), `${file}-b`, 'web-01', 2222, other).status).toBe(
      'unknown',
    );
    // What known_hosts says (a match after someone fixed the file) is not overruled.
    const match = { status: 'match' as const, fingerprint: hostKeyFingerprint(other), line: 3 };
    expect(checkAcceptedHostKey(match, file, 'web-01', 2222, other)).toBe(match);
  });
});
