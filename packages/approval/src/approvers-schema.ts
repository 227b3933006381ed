/**
 * The trust store `approvers.yaml` (README: Formats): who may approve, with which keys, under which
 * policy, which keys are revoked, and how many seniors must sign its next version.
 */

import { apiVersion, closedObject, documentSchema } from '@opsbook/schema';
import { keyFingerprint } from './statement-fragments.js';

const duration = { type: 'string', pattern: '^[1-9][0-9]*(m|h|d)$' } as const;
const signatures = { type: 'integer', minimum: 1, maximum: 10 } as const;
const override = {
  type: 'object',
  additionalProperties: false,
  properties: { signatures, maxValidity: duration },
} as const;

export const approversSchema = documentSchema(
  'approvers',
  'opsbook Approvers (trust store)',
  {
    apiVersion,
    kind: { const: 'Approvers' },
    /** Raised by every change; a lower or equal version than the pinned one is a rollback. */
    version: { type: 'integer', minimum: 1 },
    approvers: {
      type: 'array',
      minItems: 1,
      items: closedObject(
        {
          id: { type: 'string', pattern: '^[a-z][a-z0-9._-]*$', maxLength: 64 },
          name: { type: 'string', minLength: 1, maxLength: 200 },
          roles: {
            type: 'array',
            uniqueItems: true,
            items: { enum: ['senior', 'expert', 'engineer'] },
          },
          keys: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', minLength: 1, maxLength: 16384 },
          },
          jira: { type: 'string', minLength: 1, maxLength: 128 },
        },
        ['jira'],
      ),
    },
    policy: closedObject(
      {
        signatures,
        maxValidity: duration,
        grades: {
          type: 'object',
          additionalProperties: false,
          properties: { P1: override, P2: override, P3: override, P4: override },
        },
        categories: {
          type: 'object',
          additionalProperties: false,
          properties: {
            routine: {
              type: 'object',
              additionalProperties: false,
              properties: { ...override.properties, allowSelectors: { type: 'boolean' } },
            },
            incident: override,
            change: override,
          },
        },
      },
      ['grades', 'categories'],
    ),
    revoked: {
      type: 'array',
      items: closedObject(
        { fingerprint: keyFingerprint, reason: { type: 'string', maxLength: 500 } },
        ['reason'],
      ),
    },
    rotation: closedObject({ signatures }),
  },
  ['revoked'],
);
