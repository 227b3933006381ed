import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');
let crypto: NodeCrypto | undefined;

/**
 * node:crypto, loaded on first use: loading it costs a command's start-up several milliseconds,
 * and the commands that only read runbooks (validate, list, show) never hash or write anything.
 */
export function nodeCrypto(): NodeCrypto {
  crypto ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto;
  return crypto;
}
