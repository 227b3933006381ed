/**
 * Sets `key` as an own, enumerable, writable data property of a plain object. Assignment for
 * every key but `__proto__`, which assignment would take as the object's prototype: that one is
 * defined. `Object.defineProperty` for every key is the same, but it is a slow runtime call that
 * a 1,000-host inventory made some 30,000 times (BENCHMARKS.md, fan-out start-up).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else target[key] = value;
}
