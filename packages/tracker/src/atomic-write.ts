import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

async function writeTemp(file: string, data: string | Uint8Array): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync(); // the state dir must survive a crash: data on disk before the rename
  } finally {
    await handle.close();
  }
  return temp;
}

/** Replace `file` with `data` so readers see the old or the new bytes, never a mix. */
export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = await writeTemp(file, data);
  try {
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
}

/** Create `file` with `data` only if it does not exist yet; false when another writer got there first. */
export async function createAtomic(file: string, data: string | Uint8Array): Promise<boolean> {
  const temp = await writeTemp(file, data);
  try {
    await link(temp, file); // link(2) fails with EEXIST instead of replacing: a race-free claim
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
