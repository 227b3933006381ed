import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

// @opsbook/testkit depends on this package, so schema's own tests make their temp folders here.
export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-schema-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
