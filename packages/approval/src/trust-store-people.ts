import path from 'node:path';
import { readTrustStoreFile } from './trust-pin.js';
import { parseTrustStore } from './trust-store.js';

/** Who approvers.yaml lists: its file as messages name it, ids, and ids with tracker accounts. */
export interface TrustStorePeople {
  file: string;
  /** The ids and the `jira` accounts. */
  names: Set<string>;
  ids: string[];
}

/**
 * The people of approvers.yaml (not the pinned store: a check of names, not of authority);
 * undefined when there is no such file. Light on purpose: `opsbook validate` reads it to check
 * alerts.yaml's ownership names without loading the runner.
 */
export async function trustStorePeople(trustStore: string): Promise<TrustStorePeople | undefined> {
  const bytes = await readTrustStoreFile(trustStore);
  if (!bytes) return undefined;
  const file = path.relative(process.cwd(), trustStore) || trustStore;
  const { approvers } = parseTrustStore(bytes, file).data;
  const ids = approvers.map((a) => a.id);
  return { file, names: new Set([...ids, ...approvers.flatMap((a) => a.jira ?? [])]), ids };
}
