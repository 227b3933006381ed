import type { ActionSpec, Validator } from '@opsbook/schema';
import { generatedActionSpecs } from '../generated/action-specs.js';
import { actionValidatorName } from './action-validator-name.js';

let specs: ReadonlyMap<string, ActionSpec> | undefined;

/**
 * What `opsbook validate` needs to know of the built-in actions: names, descriptions, `with:`
 * schemas and validators compiled ahead of time (loaded on the first `uses:`). Generated from
 * `builtinActions()`, so the same actions, without loading their implementations.
 */
export function builtinActionSpecs(): ReadonlyMap<string, ActionSpec> {
  if (!specs) {
    const all = new Map<string, ActionSpec>();
    for (const spec of generatedActionSpecs) {
      const exportName = actionValidatorName(spec.name);
      all.set(spec.name, {
        ...spec,
        loadValidator: async () => {
          const validators = (await import(
            '../generated/action-validators.js'
          )) as unknown as Record<string, Validator | undefined>;
          const validate = validators[exportName];
          if (!validate)
            throw new Error(
              `no generated validator ${exportName}: run \`pnpm gen\` in packages/runner`,
            );
          return validate;
        },
      });
    }
    specs = all;
  }
  return specs;
}
