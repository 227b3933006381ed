import { randomBytes } from 'node:crypto';
import { type Problem, parseJsonSource, schemaProblems, type Validator } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { parseDuration } from './duration.js';
import { approvalErrors } from './error-codes.js';
import { validateApprovalStatement as generatedValidateApprovalStatement } from './generated/validators.js';
import { approvalStatementSchema } from './statement-schema.js';

const validateApprovalStatement =
  generatedValidateApprovalStatement as unknown as Validator<ApprovalStatement>;

export { approvalStatementSchema };
export type ApprovalStatement = FromSchema<typeof approvalStatementSchema>;
export type Category = ApprovalStatement['category'];
export type Grade = ApprovalStatement['grade'];
export type Targets = ApprovalStatement['targets'];
export type ComposedRunbook = NonNullable<ApprovalStatement['composed']>[number];
/** The tracker an approval ties its runs to (statement-schema.ts). */
export type TrackerBinding = NonNullable<ApprovalStatement['tracker']>;

export interface StatementInput {
  ticket: string;
  runbook: { name: string; version: string; digest: string };
  /** The runbooks it composes, recursively (none: the field is left out). */
  composed?: readonly ComposedRunbook[];
  /** Resolved values of the non-secret params. */
  params: Record<string, string | number | boolean>;
  /** Names of the secret params: their values are never written into an approval. */
  secretParams?: string[];
  targets: Targets;
  category: Category;
  grade: Grade;
  /** Digest of the rendered plan (every command per host); required, for a selector too. */
  planDigest?: string;
  /** The tracker its runs are checked and claimed on; `opsbook run` refuses an approval without. */
  tracker?: TrackerBinding;
  /** Start of validity; defaults to `now`. */
  notBefore?: Date;
  /** End of validity as an instant, or as a duration such as '24h' from notBefore. */
  expires?: Date | string;
  maxRuns?: number;
  executor?: string;
  proposer?: string;
  /** The clock; tests pass a fixed one. */
  now?: Date;
}

/** Default validity of a fresh approval: enough for one working day. */
export const DEFAULT_EXPIRY = '24h';

/** A new random approval id: 128 bits, base64url. */
export function newApprovalId(): string {
  return randomBytes(16).toString('base64url');
}

/** Timestamps in approvals are whole seconds in UTC, so that every tool prints them the same. */
export function formatInstant(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Build an unsigned statement; throws ValidationError when the result would not be valid. */
export function createStatement(input: StatementInput): ApprovalStatement {
  const now = input.now ?? new Date();
  const notBefore = input.notBefore ?? now;
  const expires = input.expires ?? DEFAULT_EXPIRY;
  const expiresAt =
    typeof expires === 'string' ? new Date(notBefore.getTime() + parseDuration(expires)) : expires;
  const statement = {
    apiVersion: 'opsbook/v1' as const,
    kind: 'Approval' as const,
    id: newApprovalId(),
    ticket: input.ticket,
    runbook: {
      name: input.runbook.name,
      version: input.runbook.version,
      digest: input.runbook.digest,
    },
    ...(input.composed?.length ? { composed: input.composed.map(composedOf) } : {}),
    params: sortKeys(input.params),
    secretParams: [...(input.secretParams ?? [])].sort(),
    targets:
      'hosts' in input.targets
        ? { hosts: [...input.targets.hosts] }
        : { selector: input.targets.selector },
    category: input.category,
    grade: input.grade,
    notBefore: formatInstant(notBefore),
    expiresAt: formatInstant(expiresAt),
    maxRuns: input.maxRuns ?? 1,
    ...(input.executor ? { executor: input.executor } : {}),
    ...(input.proposer ? { proposer: input.proposer } : {}),
    ...(input.planDigest ? { plan: { digest: input.planDigest } } : {}),
    ...(input.tracker ? { tracker: trackerOf(input.tracker) } : {}),
  };
  const problems = checkStatement('statement', statement);
  if (problems.length) throw new approvalErrors.ValidationError(problems, 'STATEMENT_INVALID');
  return statement;
}

/** A composed runbook with its keys in the one canonical order. */
function composedOf(c: ComposedRunbook): ComposedRunbook {
  return { step: c.step, name: c.name, version: c.version, digest: c.digest };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** Schema problems plus the rules a schema cannot say (a real window, a plan for host lists). */
function checkStatement(file: string, value: unknown): Problem[] {
  if (!validateApprovalStatement(value)) {
    const source = parseJsonSource(file, JSON.stringify(value));
    return schemaProblems(source, validateApprovalStatement.errors);
  }
  const s = value as ApprovalStatement;
  const problems: Problem[] = [];
  const at = (message: string, rule: string) =>
    problems.push({ file, line: 0, col: 0, message, rule });
  const from = Date.parse(s.notBefore);
  const to = Date.parse(s.expiresAt);
  if (Number.isNaN(from) || Number.isNaN(to))
    at('notBefore and expiresAt must be real instants', 'bad-instant');
  else if (to <= from) at('expiresAt must be later than notBefore', 'empty-window');
  // A standing approval too: what its selector renders today (hosts, thresholds, connections) is
  // what the senior reviews, and a run of another plan must be refused (docs/routine-work.md).
  if (!s.plan)
    at(
      `an approval for ${'hosts' in s.targets ? 'an explicit host list' : 'a standing selector'} must carry the plan digest: create it with opsbook plan`,
      'plan-missing',
    );
  return problems;
}

/**
 * Parse the exact payload bytes of an envelope into a statement. Strict like every opsbook
 * reader: duplicate keys, unknown keys and wrong types are problems, never silently resolved.
 */
export function parseStatement(
  bytes: Uint8Array,
  file = 'approval payload',
): { statement?: ApprovalStatement; problems: Problem[] } {
  const source = parseJsonSource(file, bytes);
  if (source.problems.length) return { problems: source.problems };
  if (!validateApprovalStatement(source.value)) {
    return { problems: schemaProblems(source, validateApprovalStatement.errors) };
  }
  const problems = checkStatement(file, source.value);
  if (problems.length) return { problems };
  const statement = source.value as ApprovalStatement;
  // Whitespace, compact JSON, another key order or number spelling: the same statement with other
  // bytes (and another hash) is refused, so what was signed is exactly one serialisation.
  if (!Buffer.from(bytes).equals(statementBytes(statement)))
    return {
      problems: [
        {
          file,
          line: 0,
          col: 0,
          rule: NOT_CANONICAL,
          message:
            'the statement is not in its canonical form (other whitespace, key order or number spelling than opsbook writes): create the approval again with opsbook plan and have it signed unchanged',
        },
      ],
    };
  return { statement, problems: [] };
}

/**
 * The bytes a proposer signs: the canonical statement without the window and the run count
 * (notBefore, expiresAt, maxRuns), which the senior may still set before signing, and with kind
 * `Proposal`, so that these bytes can never pass as an approval payload.
 */
export function proposalBytes(statement: ApprovalStatement): Buffer {
  const { notBefore: _n, expiresAt: _e, maxRuns: _m, ...rest } = canonicalStatement(statement);
  return Buffer.from(`${JSON.stringify({ ...rest, kind: 'Proposal' }, null, 2)}\n`, 'utf8');
}

/** The problem rule of a payload whose bytes are not the canonical serialisation of its statement. */
export const NOT_CANONICAL = 'not-canonical';

/**
 * The statement with its keys in the one canonical order (the schema's, maps sorted by key), so
 * that a statement has exactly one byte form whatever order the parsed object had.
 */
function canonicalStatement(s: ApprovalStatement): ApprovalStatement {
  return {
    apiVersion: s.apiVersion,
    kind: s.kind,
    id: s.id,
    ticket: s.ticket,
    runbook: { name: s.runbook.name, version: s.runbook.version, digest: s.runbook.digest },
    ...(s.composed === undefined ? {} : { composed: s.composed.map(composedOf) }),
    params: sortKeys(s.params),
    secretParams: [...s.secretParams].sort(),
    targets:
      'hosts' in s.targets ? { hosts: [...s.targets.hosts] } : { selector: s.targets.selector },
    category: s.category,
    grade: s.grade,
    notBefore: s.notBefore,
    expiresAt: s.expiresAt,
    maxRuns: s.maxRuns,
    ...(s.executor === undefined ? {} : { executor: s.executor }),
    ...(s.proposer === undefined ? {} : { proposer: s.proposer }),
    ...(s.plan === undefined ? {} : { plan: { digest: s.plan.digest } }),
    ...(s.tracker === undefined ? {} : { tracker: trackerOf(s.tracker) }),
  };
}

/** A tracker binding with its keys in the one canonical order. */
function trackerOf(t: TrackerBinding): TrackerBinding {
  const { approved, inProgress } = t.statuses;
  const v = t.commentVisibility;
  return {
    kind: t.kind,
    site: t.site,
    statuses: { approved, inProgress },
    ...(v === undefined
      ? {}
      : {
          commentVisibility: {
            type: v.type,
            value: v.value,
            ...(v.identifier === undefined ? {} : { identifier: v.identifier }),
          },
        }),
  };
}

/**
 * The exact bytes a statement is signed as: canonical key order, two-space indent, final
 * newline. Readers refuse a payload whose bytes differ from this (parseStatement), so an approval
 * has one byte form and one hash.
 */
export function statementBytes(statement: ApprovalStatement): Buffer {
  return Buffer.from(`${JSON.stringify(canonicalStatement(statement), null, 2)}\n`, 'utf8');
}

/**
 * What `opsbook approve --expires 24h --max-runs 1` changes before signing: the window and the
 * run count. Returns a new statement (new bytes), so it is only for envelopes not yet signed.
 */
export function reviseStatement(
  statement: ApprovalStatement,
  changes: { expires?: Date | string; maxRuns?: number; notBefore?: Date },
): ApprovalStatement {
  const notBefore = changes.notBefore ?? new Date(statement.notBefore);
  const expires = changes.expires;
  const expiresAt =
    expires === undefined
      ? new Date(statement.expiresAt)
      : typeof expires === 'string'
        ? new Date(notBefore.getTime() + parseDuration(expires))
        : expires;
  const revised = {
    ...statement,
    notBefore: formatInstant(notBefore),
    expiresAt: formatInstant(expiresAt),
    maxRuns: changes.maxRuns ?? statement.maxRuns,
  };
  const problems = checkStatement('statement', revised);
  if (problems.length) throw new approvalErrors.ValidationError(problems, 'STATEMENT_INVALID');
  return revised;
}
