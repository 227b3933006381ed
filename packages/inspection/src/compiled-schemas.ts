import { inspectionCheckNames, inspectionChecks } from './inspection-checks.js';

/** `inspection.failed-units` → `validateFailedUnitsWith`: the generated validator's export name. */
export function validatorName(checkName: string): string {
  const short = checkName.replace(/^inspection\./, '');
  return `validate${short.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase())}With`;
}

/** The `with:` schemas of every check, compiled ahead of time into generated/validators.ts. */
export const schemasToCompile: Record<string, object> = Object.fromEntries(
  inspectionCheckNames.map((name) => [validatorName(name), inspectionChecks[name].withSchema]),
);
