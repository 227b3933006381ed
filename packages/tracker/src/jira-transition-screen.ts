/** A transition's screen as `expand=transitions.fields` reports it: its fields by id. */
export interface TransitionScreen {
  fields: Record<string, { name: string; required: boolean; hasDefaultValue: boolean }>;
}

type Json = Record<string, unknown>;

/**
 * The screen of a transition in Jira's list: the fields it reports (with
 * `expand=transitions.fields`), or none when Cloud says `hasScreen: false`; undefined when the
 * answer says nothing of it (a Jira that ignores the expand).
 */
export function transitionScreen(transition: Json): TransitionScreen | undefined {
  const raw = transition.fields;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const fields: TransitionScreen['fields'] = {};
    for (const [id, value] of Object.entries(raw)) {
      const meta = (value && typeof value === 'object' ? value : {}) as Json;
      fields[id] = {
        name: typeof meta.name === 'string' ? meta.name : id,
        required: meta.required === true,
        // Optional in both specs: unsaid, the field may have a default, so the move is not
        // refused before it is sent (Jira names the field if it has none).
        hasDefaultValue: meta.hasDefaultValue !== false,
      };
    }
    return { fields };
  }
  return transition.hasScreen === false ? { fields: {} } : undefined;
}

/**
 * What a move carries of its configured fields (`tracker.jira.transitionFields.<role>`): those on
 * the transition's screen, since Jira refuses any other (a move without a screen takes none); all
 * of them when the screen is unknown, Jira then naming what it refuses. `missing`: the screen's
 * required fields, without a default, that the configuration lacks.
 */
export function fieldsForScreen(
  screen: TransitionScreen | undefined,
  configured: Record<string, unknown> = {},
): { fields: Record<string, unknown>; missing: { id: string; name: string }[] } {
  if (!screen) return { fields: configured, missing: [] };
  const fields = Object.fromEntries(
    Object.entries(configured).filter(([id]) => Object.hasOwn(screen.fields, id)),
  );
  const missing = Object.entries(screen.fields)
    .filter(([id, f]) => f.required && !f.hasDefaultValue && !Object.hasOwn(configured, id))
    .map(([id, f]) => ({ id, name: f.name }));
  return { fields, missing };
}
