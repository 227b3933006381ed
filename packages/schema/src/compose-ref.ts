/**
 * What a step's `uses:` names: a built-in action (`backup.files`), or another runbook of the
 * library by name and semver range (`runbook:disk-cleanup@^1.2.0`, docs/composition.md).
 */
export const USES_PATTERN = '^(?:[a-z]+(?:\\.[a-z][a-z0-9-]*)+|runbook:[a-z][a-z0-9-]*@[^\\s@]+)$';

export const COMPOSE_PREFIX = 'runbook:';

/** A composed runbook as a step names it. */
export interface ComposeRef {
  name: string;
  /** The semver range, as written (checked where the library is known). */
  range: string;
}

/** The runbook a `uses:` composes, or undefined for a built-in action (or nothing). */
export function parseComposeRef(uses: string | undefined): ComposeRef | undefined {
  if (!uses?.startsWith(COMPOSE_PREFIX)) return undefined;
  const at = uses.indexOf('@', COMPOSE_PREFIX.length);
  if (at < 0) return undefined;
  return { name: uses.slice(COMPOSE_PREFIX.length, at), range: uses.slice(at + 1) };
}
