import { alertRulesSchema, onCallSchema } from './rules-schema.js';
import { webhookSchema } from './webhook-schema.js';

/** The schemas of this package that are compiled ahead of time into generated/validators.ts. */
export const schemasToCompile = {
  validateWebhook: webhookSchema,
  validateAlertRules: alertRulesSchema,
  validateOnCall: onCallSchema,
};
