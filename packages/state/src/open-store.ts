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

/**
 * The store for a read-only view (runs list, runs show, journal verify, stats, report, catalog):
 * `stateStoreOf`'s, but a files store's views read around a damaged ledger line and name it in
 * `ledgerDamage()`, so one bad line does not hide the whole history. Claims, run counts and ends
 * through it refuse that line as `stateStoreOf`'s do: a view never decides what may run.
 */
export function stateViewOf(config: { stateDir: string; state: StateConfig }): StateStore {
  if (config.state.kind === 'postgres') return stateStoreOf(config);
  const key = `files view ${config.stateDir}`;
  let store = open.get(key);
  if (!store) {
    store = filesStore(config.stateDir, { readsAroundDamage: true });
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
