import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';

/**
 * A folder holding only the smallest opsbook.yaml (files store in ./state, embedded tracker, no
 * standing approvals, no inventory): where a command's own checks are what is tested.
 */
export async function bareWorkspace(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const temp = await makeTempDir(prefix);
  await writeFile(
    path.join(temp.dir, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\n',
  );
  return temp;
}
