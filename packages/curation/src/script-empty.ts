/**
 * Whether a shell script holds no command: only blank lines and comments (a #! line is one), or
 * nothing at all. sh runs it and exits 0, so a step made of it does nothing and still ends ok.
 * The one test of opsbook promote (which refuses such a script) and lint (`script-empty`).
 */
export function holdsNoCommand(text: string): boolean {
  return !text.split('\n').some((l) => !/^\s*(?:#.*)?$/.test(l));
}
