import type { StatusRole } from './fake-workflow.js';

/**
 * The fake's transition screens. A move to a status has a screen when that status has fields in
 * `shown` or `required` (`JiraFakeOptions.transitionScreens`, `transitionRequires`); a required
 * field is on the screen too. Without a screen, Jira takes no `fields` at all (a post-function
 * sets the resolution): it refuses each one as not on the screen.
 */
export interface TransitionScreens {
  shown: Partial<Record<StatusRole, string[]>>;
  required: Partial<Record<StatusRole, string[]>>;
  /** Required fields Jira fills with their default value when a move leaves them out. */
  defaulted: Partial<Record<StatusRole, string[]>>;
}

/** The resolutions of the fake's Jira (a resolution is `{name}` or `{id}`, as Jira takes it). */
export const FAKE_RESOLUTIONS: readonly { id: string; name: string }[] = [
  { id: '10000', name: 'Done' },
  { id: '10001', name: "Won't Do" },
  { id: '10002', name: 'Duplicate' },
];

// biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON, checked by the OpenAPI validator first
type Json = Record<string, any>;

/** The fields on the screen of a move to `to`, required ones first; empty: no screen. */
export function screenFields(screens: TransitionScreens, to: StatusRole): string[] {
  return [...new Set([...(screens.required[to] ?? []), ...(screens.shown[to] ?? [])])];
}

export function isRequiredOnScreen(
  screens: TransitionScreens,
  to: StatusRole,
  field: string,
): boolean {
  return (screens.required[to] ?? []).includes(field);
}

/**
 * Jira's field errors for a transition's `fields`: each field not on the screen (every field,
 * for a move without a screen), each required one missing, a resolution it does not have.
 * Empty when the move may go.
 */
export function transitionFieldErrors(
  screens: TransitionScreens,
  to: StatusRole,
  given: Json,
): Record<string, string> {
  const onScreen = screenFields(screens, to);
  const errors: Record<string, string> = {};
  for (const field of Object.keys(given))
    if (!onScreen.includes(field))
      errors[field] =
        `Field '${field}' cannot be set. It is not on the appropriate screen, or unknown.`;
  for (const field of screens.required[to] ?? [])
    if (
      (given[field] === undefined || given[field] === null) &&
      !(screens.defaulted[to] ?? []).includes(field)
    )
      errors[field] = `${field} is required.`;
  const resolution = given.resolution as Json | undefined;
  if (onScreen.includes('resolution') && resolution && !errors.resolution) {
    const known = FAKE_RESOLUTIONS.some(
      (r) => r.name === resolution.name || r.id === resolution.id,
    );
    if (!known) errors.resolution = "Could not find valid 'id' or 'name' in resolution object.";
  }
  return errors;
}
