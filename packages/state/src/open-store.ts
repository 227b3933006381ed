import type { StateConfig } from '@opsbook/schema';
import { postgresStore } from './postgres/postgres-store.js';
import { filesStore, type StateStore } from './store.js';

const open = new Map<string, StateStore>();

/**
 * The state store a configuration names, one per process and place: every command and runner
 * function that reads or writes runs asks for it by its config, and `closeStateStores` ends them
 * all (the PostgreSQL pool) when the command is done.
 */
export function stateStoreOf(config: { stateDir: string; state: StateConfig }): StateStore {
  const key =
    config.state.kind === 'postgres'
      ? `postgres ${config.state.url ?? ''}`
      : `files ${config.stateDir}`;
  let store = open.get(key);
  if (!store) {
    store =
      config.state.kind === 'postgres'
        ? postgresStore({ ...(config.state.url ? { url: config.state.url } : {}) })
        : filesStore(config.stateDir);
    open.set(key, store);
  }
  return store;
}

/** Closes every store `stateStoreOf` opened in this process. */
export async function closeStateStores(): Promise<void> {
  const stores = [...open.values()];
  open.clear();
  await Promise.all(stores.map((s) => s.close()));
}
