import { acceptanceStatementSchema } from './acceptance-schema.js';
import { approversSchema } from './approvers-schema.js';
import { envelopeSchema } from './envelope-schema.js';
import { runClaimSchema } from './run-claim-schema.js';
import { approvalStatementSchema } from './statement-schema.js';

/** The schemas of this package that are compiled ahead of time into generated/validators.ts. */
export const schemasToCompile = {
  validateApprovalStatement: approvalStatementSchema,
  validateEnvelope: envelopeSchema,
  validateApprovers: approversSchema,
  validateAcceptanceStatement: acceptanceStatementSchema,
  validateRunClaim: runClaimSchema,
};
