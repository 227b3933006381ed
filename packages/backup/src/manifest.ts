import {
  closedObject,
  compileSchema,
  parseJsonSource,
  schemaProblems,
  type Validator,
} from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { backupErrors } from './error-codes.js';

/**
 * The manifest of one backup (`backups/<id>/manifest.json`). This schema is the one source of
 * truth: the `Manifest` type is derived from it and every manifest read is checked against it.
 * It is written last, inside the staging folder, before the folder is renamed into `backups/`:
 * a backup without a valid manifest is not a backup.
 */
export const manifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  ...closedObject(
    {
      format: { const: 'opsbook-backup/v1' },
      id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
      kind: { enum: ['files', 'postgres'] },
      /** What was backed up, as retention groups it: `files:/etc,/srv` or `postgres:appdb`. */
      source: { type: 'string', minLength: 1 },
      host: { type: 'string', minLength: 1 },
      paths: { type: 'array', items: { type: 'string' } },
      database: { type: 'string' },
      startedAt: { type: 'string' },
      finishedAt: { type: 'string' },
      runId: { type: ['string', 'null'] },
      archives: {
        type: 'array',
        minItems: 1,
        items: closedObject({
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
          size: { type: 'integer', minimum: 0 },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          format: { enum: ['tar', 'tar+gzip', 'tar+zstd', 'pg_dump-custom'] },
        }),
      },
      tools: { type: 'object', additionalProperties: { type: 'string' } },
      /** Files that changed or vanished while tar read them: the archive may hold a torn copy. */
      warnings: {
        type: 'array',
        items: closedObject({ path: { type: 'string' }, message: { type: 'string' } }, ['path']),
      },
      /** Row count and order-independent checksum of every table, taken in the dump's snapshot. */
      tables: {
        type: 'array',
        items: closedObject({
          name: { type: 'string' },
          rows: { type: 'integer', minimum: 0 },
          checksum: { type: 'string' },
        }),
      },
    },
    ['paths', 'database', 'tables'],
  ),
} as const;

export type Manifest = FromSchema<typeof manifestSchema>;
export type ArchiveEntry = Manifest['archives'][number];
export type TableStat = NonNullable<Manifest['tables']>[number];
export type ArchiveFormat = ArchiveEntry['format'];

let validator: Promise<Validator<Manifest>> | undefined;

/** Parses and checks a manifest; a malformed one is a ValidationError naming file:line:col. */
export async function parseManifest(file: string, text: string): Promise<Manifest> {
  const source = parseJsonSource(file, text);
  if (source.problems.length)
    throw new backupErrors.ValidationError(source.problems, 'MANIFEST_INVALID');
  validator ??= compileSchema<Manifest>(manifestSchema);
  const validate = await validator;
  if (!validate(source.value)) {
    throw new backupErrors.ValidationError(
      schemaProblems(source, validate.errors),
      'MANIFEST_INVALID',
    );
  }
  return source.value as Manifest;
}
