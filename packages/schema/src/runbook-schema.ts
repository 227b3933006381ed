import type { FromSchema } from 'json-schema-to-ts';
import { USES_PATTERN } from './compose-ref.js';
import {
  apiVersion,
  closedObject,
  identifier,
  runbookCategory,
  runbookGrade,
  timeoutDuration,
} from './schema-fragments.js';

/**
 * The Runbook format (root README, Writing a runbook), draft 2020-12. This object is the one source
 * of truth: the `Runbook` type below is derived from it, ajv compiles it, and the build writes it
 * to `dist/runbook.schema.json` for editors. Every object is closed (`additionalProperties: false`)
 * so that a typo is an error, never a silently ignored key.
 */

const paramSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['string', 'integer', 'number', 'boolean'] },
    description: { type: 'string' },
    default: { type: ['string', 'number', 'boolean'] },
    required: { type: 'boolean' },
    secret: { type: 'boolean' },
    enum: { type: 'array', minItems: 1, items: { type: ['string', 'number', 'boolean'] } },
    pattern: { type: 'string' },
    minLength: { type: 'integer', minimum: 0 },
    maxLength: { type: 'integer', minimum: 0 },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
  },
} as const;

const stepSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name'],
  properties: {
    id: identifier,
    name: { type: 'string', minLength: 1 },
    run: { type: 'string', minLength: 1 },
    script: { type: 'string', minLength: 1 },
    uses: { type: 'string', pattern: USES_PATTERN },
    with: { type: 'object' },
    args: { type: 'array', items: { type: 'string' } },
    where: { enum: ['remote', 'local'] },
    sudo: { type: 'boolean' },
    timeout: timeoutDuration,
    continueOnError: { type: 'boolean' },
    expect: {
      type: 'object',
      additionalProperties: false,
      properties: {
        exitCode: {
          anyOf: [
            { type: 'integer', minimum: 0, maximum: 255 },
            {
              type: 'array',
              minItems: 1,
              items: { type: 'integer', minimum: 0, maximum: 255 },
            },
          ],
        },
        stdout: { type: 'string' },
        stderr: { type: 'string' },
      },
    },
  },
} as const;

const stepList = { type: 'array', items: { $ref: '#/$defs/step' } } as const;

export const runbookSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/runbook.json',
  title: 'opsbook Runbook',
  $defs: { step: stepSchema },
  ...closedObject({
    apiVersion,
    kind: { const: 'Runbook' },
    metadata: closedObject(
      {
        name: identifier,
        title: { type: 'string', minLength: 1, maxLength: 200 },
        description: { type: 'string' },
        category: runbookCategory,
        grade: runbookGrade,
        owners: { type: 'array', items: { type: 'string', minLength: 1 } },
        tags: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
      ['description', 'owners', 'tags'],
    ),
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['steps'],
      properties: {
        params: {
          type: 'object',
          propertyNames: { pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 },
          additionalProperties: paramSchema,
        },
        targets: {
          type: 'object',
          additionalProperties: false,
          properties: {
            default: { type: 'string', minLength: 1 },
            concurrency: { type: 'integer', minimum: 1, maximum: 10000 },
            maxFailures: { type: 'integer', minimum: 0 },
          },
        },
        prechecks: stepList,
        steps: { ...stepList, minItems: 1 },
        postchecks: stepList,
        rollback: stepList,
        evidence: stepList,
      },
    },
  }),
} as const;

export type Runbook = FromSchema<typeof runbookSchema>;
export type RunbookSpec = Runbook['spec'];
export type Step = FromSchema<typeof stepSchema>;
export type ParamSpec = FromSchema<typeof paramSchema>;
export type ParamValue = string | number | boolean;

/** Defaults of spec.targets when the runbook leaves them out. */
export const targetDefaults = { concurrency: 10, maxFailures: 0 } as const;

/** The phases of a runbook, in the order the runner executes them. */
export const phases = ['prechecks', 'steps', 'postchecks', 'rollback', 'evidence'] as const;
export type Phase = (typeof phases)[number];
