/**
 * The promise `cache` holds for `key`, else the one `start` makes, kept for the next caller. One
 * that rejects is dropped again, so that the next caller starts afresh (an unreadable file, a
 * refused connection) instead of getting the old failure.
 */
export function cachedUnlessRejected<K, V>(
  cache: Map<K, Promise<V>>,
  key: K,
  start: (key: K) => Promise<V>,
): Promise<V> {
  let promise = cache.get(key);
  if (!promise) {
    promise = start(key);
    promise.catch(() => cache.delete(key));
    cache.set(key, promise);
  }
  return promise;
}
