import { parseJsonSource, schemaProblems, type Validator } from '@opsbook/schema';
import { inventoryErrors } from '../error-codes.js';
import {
  validateFleetStatistics as generatedFleetStatistics,
  validateHostFacts as generatedHostFacts,
} from '../generated/validators.js';
import type { FleetStatistics, HostFacts } from './host-facts-schema.js';

/** Checks a value against hostFactsSchema (compiled ahead of time); ajv's errors on `.errors`. */
export const validateHostFacts = generatedHostFacts as unknown as Validator<HostFacts>;

/** Checks a value against fleetStatisticsSchema (compiled ahead of time). */
export const validateFleetStatistics =
  generatedFleetStatistics as unknown as Validator<FleetStatistics>;

/**
 * Reads facts another tool or an earlier `opsbook inventory --json` wrote: strict JSON, then the
 * schema. Throws a ValidationError whose problems point at file:line:col, so that a report built
 * from stored facts never silently adds up a malformed host.
 */
export function readHostFacts(file: string, input: string | Uint8Array): HostFacts {
  return readChecked(file, input, validateHostFacts);
}

/** The same for the statistics document (`opsbook inventory --json`). */
export function readFleetStatistics(file: string, input: string | Uint8Array): FleetStatistics {
  return readChecked(file, input, validateFleetStatistics);
}

function readChecked<T>(file: string, input: string | Uint8Array, validate: Validator<T>): T {
  const source = parseJsonSource(file, input);
  if (source.problems.length > 0)
    throw new inventoryErrors.ValidationError(source.problems, 'FACTS_INVALID');
  if (!validate(source.value))
    throw new inventoryErrors.ValidationError(
      schemaProblems(source, validate.errors),
      'FACTS_INVALID',
    );
  return source.value;
}
