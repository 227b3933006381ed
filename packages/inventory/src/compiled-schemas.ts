import { fleetStatisticsSchema, hostFactsSchema } from './facts/host-facts-schema.js';

/** The schemas of this package that are compiled ahead of time into generated/validators.ts. */
export const schemasToCompile = {
  validateHostFacts: hostFactsSchema,
  validateFleetStatistics: fleetStatisticsSchema,
};
