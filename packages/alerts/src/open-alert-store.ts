import type { StateConfig } from '@opsbook/schema';
import type { AlertStore } from './alert-store.js';
import { filesAlertStore } from './files-alert-store.js';
import { postgresAlertStore } from './postgres-alert-store.js';

/**
 * The alert store a configuration names: the team's PostgreSQL database when the state store is
 * there (`state: {kind: postgres}` or OPSBOOK_DATABASE_URL), else the files under stateDir.
 */
export function alertStoreOf(config: { stateDir: string; state: StateConfig }): AlertStore {
  return config.state.kind === 'postgres'
    ? postgresAlertStore({ url: config.state.url })
    : filesAlertStore(config.stateDir);
}
