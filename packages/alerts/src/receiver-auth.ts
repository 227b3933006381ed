import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * What Alertmanager's `http_config` sends: `authorization: {credentials: …}` (a bearer token) or
 * `basic_auth: {username, password}`. The secrets come from the environment or a file, never
 * from the command line (other users see argv) and never into a log.
 */
export type ReceiverAuth =
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string };

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares in constant time (over digests: the lengths may differ). */
function same(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether the Authorization header carries the credentials `auth` expects. */
export function isAuthorized(header: string | undefined, auth: ReceiverAuth | undefined): boolean {
  if (!auth) return true;
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (auth.kind === 'bearer') return scheme === 'bearer' && same(value, auth.token);
  if (scheme !== 'basic') return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared, always: no early return that times which one was wrong.
  const user = same(decoded.slice(0, colon), auth.username);
  const password = same(decoded.slice(colon + 1), auth.password);
  return user && password;
}

/** The WWW-Authenticate challenge of a 401. */
export function challengeOf(auth: ReceiverAuth): string {
  return auth.kind === 'bearer' ? 'Bearer realm="opsbook alerts"' : 'Basic realm="opsbook alerts"';
}

/** Whether `host` is a loopback address or name (what the receiver listens on by default). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith('127.');
  if (kind === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}
