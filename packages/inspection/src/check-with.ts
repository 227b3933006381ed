import { type Problem, parseJsonSource, schemaProblems, type Validator } from '@opsbook/schema';
import { validatorName } from './compiled-schemas.js';
import { inspectionErrors } from './error-codes.js';
import * as generated from './generated/validators.js';
import type { InspectionCheck } from './inspection-check.js';

const validators = generated as unknown as Record<string, Validator | undefined>;

/**
 * Problems of a `with:` value against the check's schema, through the validators compiled ahead
 * of time (no ajv compiler at run time), worded as `opsbook validate` words them.
 */
export function withProblems(
  check: InspectionCheck,
  withValue: unknown,
  file = `with: of ${check.name}`,
): Problem[] {
  const validate = validators[validatorName(check.name)];
  if (!validate)
    throw new Error(
      `no generated validator for ${check.name}: run \`pnpm gen\` in packages/inspection`,
    );
  if (validate(withValue)) return [];
  const source = parseJsonSource(file, JSON.stringify(withValue, null, 2) ?? 'null');
  return schemaProblems(source, validate.errors).map((p) => explainChoice(check, p));
}

/**
 * The checks that take one of two forms (`url` or `host`+`port`) say so with `oneOf` over
 * `required`; the shared wording of union errors names types, so name the keys instead.
 */
function explainChoice(check: InspectionCheck, problem: Problem): Problem {
  const branches = (check.withSchema as { oneOf?: { required?: string[] }[] }).oneOf;
  if (!branches || problem.rule !== 'wrong-type' || !problem.message.startsWith('the document '))
    return problem;
  const forms = branches.map((b) => (b.required ?? []).map((k) => `'${k}'`).join(' with '));
  return { ...problem, message: `${check.name} needs exactly one of: ${forms.join(', or ')}` };
}

/** Refuse a `with:` value that its check's schema does not accept (ValidationError, exit 2). */
export function assertWith(check: InspectionCheck, withValue: unknown): void {
  const problems = withProblems(check, withValue);
  if (problems.length > 0)
    throw new inspectionErrors.ValidationError(problems, 'INSPECTION_WITH_INVALID');
}
