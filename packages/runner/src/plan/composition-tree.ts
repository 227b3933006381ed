import { parseComposeRef, phases, type RunbookBundle } from '@opsbook/schema';
import type { Composition } from './compose.js';

/*
 * What loadCatalog needs of composition for every runbook, apart from compose.ts: that module
 * (with semver and the composed params' checks) is loaded only for a runbook that composes others.
 */

/** Whether any step of the runbook composes another one. */
export function composesRunbooks(bundle: RunbookBundle): boolean {
  return phases.some((p) => bundle.runbook.spec[p]?.some((s) => parseComposeRef(s.uses)));
}

/** The names of the runbooks its steps compose (directly), in step order. */
export function composedNames(bundle: RunbookBundle): string[] {
  return phases.flatMap((p) =>
    (bundle.runbook.spec[p] ?? []).flatMap((s) => {
      const ref = parseComposeRef(s.uses);
      return ref ? [ref.name] : [];
    }),
  );
}

/** The composed runbooks depth first, each before those it composes: the order they are listed in. */
export function flattenCompositions(compositions: readonly Composition[]): Composition[] {
  return compositions.flatMap((c) => [c, ...flattenCompositions(c.children)]);
}
