import { cachedUnlessRejected } from '@opsbook/schema';
import type { Transport } from './transport.js';

/**
 * One transport per host, opened on first use and reused by every later step (README: One step
 * session per host).
 */
export interface TransportPool {
  get(host: string): Promise<Transport>;
  /**
   * Closes the host's transport and forgets it, once nothing will run there again: memory and
   * server sessions then stay bounded by the parallelism, not the number of hosts.
   */
  release(host: string): Promise<void>;
  closeAll(): Promise<void>;
  /** How many transports are open or opening. */
  readonly size: number;
}

export function createTransportPool(open: (host: string) => Promise<Transport>): TransportPool {
  const open_ = new Map<string, Promise<Transport>>();
  return {
    get(host) {
      // A failed connection is not cached: a later step may retry it explicitly.
      return cachedUnlessRejected(open_, host, open);
    },
    async release(host) {
      const transport = open_.get(host);
      if (!transport) return;
      open_.delete(host);
      await transport.then((t) => t.close()).catch(() => {});
    },
    get size() {
      return open_.size;
    },
    async closeAll() {
      const all = [...open_.values()];
      open_.clear();
      await Promise.all(all.map((t) => t.then((x) => x.close()).catch(() => {})));
    },
  };
}
