import { createHash } from 'node:crypto';
import {
  type Problem,
  parseYamlSource,
  schemaProblems,
  type Validator,
  type YamlSource,
} from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { approversSchema } from './approvers-schema.js';
import { parseDuration } from './duration.js';
import { approvalErrors } from './error-codes.js';
import { validateApprovers as generatedValidateApprovers } from './generated/validators.js';
import { parsePublicKeyLine, SshKeyError, type SshPublicKey } from './ssh-key.js';
import type { Category, Grade } from './statement.js';

const validateApprovers = generatedValidateApprovers as unknown as Validator<ApproversFile>;

export { approversSchema };
export type ApproversFile = FromSchema<typeof approversSchema>;
export type Approver = ApproversFile['approvers'][number];
export type Role = Approver['roles'][number];

export const TRUST_STORE_FILE = 'approvers.yaml';

export interface TrustedKey {
  key: SshPublicKey;
  approver: Approver;
}

/** A parsed, checked trust store and the exact bytes it came from. */
export interface TrustStore {
  file: string;
  bytes: Buffer;
  /** `sha256:<hex>` of the bytes: what `opsbook trust init` asks the user to confirm. */
  digest: string;
  version: number;
  data: ApproversFile;
  /** Every approver key by fingerprint. */
  keys: Map<string, TrustedKey>;
  /** Revoked fingerprints and why. */
  revoked: Map<string, string>;
}

/** The policy that applies to one approval, after defaults and overrides. */
export interface ResolvedPolicy {
  signatures: number;
  maxValidityMs: number;
  maxValidity: string;
  allowSelectors: boolean;
}

export function isSenior(approver: Approver): boolean {
  return approver.roles.includes('senior');
}

/**
 * Load approvers.yaml strictly (the one YAML loader, file:line:col problems) and check what the
 * schema cannot: every key line parses, no key belongs to two approvers, ids are unique, and
 * the thresholds can be met by the seniors listed (a store nobody can satisfy is a lock-out).
 */
export function parseTrustStore(bytes: Uint8Array, file = TRUST_STORE_FILE): TrustStore {
  const source = parseYamlSource(file, bytes);
  if (source.problems.length)
    throw new approvalErrors.ValidationError(source.problems, 'TRUST_STORE_INVALID');
  if (!validateApprovers(source.value)) {
    throw new approvalErrors.ValidationError(
      schemaProblems(source, validateApprovers.errors),
      'TRUST_STORE_INVALID',
    );
  }
  const data = source.value as ApproversFile;
  const { keys, problems } = collectKeys(source, data);
  const revoked = new Map(
    (data.revoked ?? []).map((r) => [r.fingerprint, r.reason ?? 'no reason given'] as const),
  );
  problems.push(...checkThresholds(source, data, keys, revoked));
  if (problems.length) throw new approvalErrors.ValidationError(problems, 'TRUST_STORE_INVALID');
  return {
    file,
    bytes: Buffer.from(bytes),
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    version: data.version,
    data,
    keys,
    revoked,
  };
}

function collectKeys(
  source: YamlSource,
  data: ApproversFile,
): { keys: Map<string, TrustedKey>; problems: Problem[] } {
  const problems: Problem[] = [];
  const keys = new Map<string, TrustedKey>();
  const ids = new Set<string>();
  const at = (path: Array<string | number>, rule: string, message: string) =>
    problems.push({ file: source.file, ...source.locate(path), rule, message });
  data.approvers.forEach((approver, i) => {
    if (ids.has(approver.id))
      at(
        ['approvers', i, 'id'],
        'duplicate-approver',
        `approver id '${approver.id}' appears twice: give each person one entry`,
      );
    ids.add(approver.id);
    approver.keys.forEach((line, k) => {
      try {
        const key = parsePublicKeyLine(line);
        const other = keys.get(key.fingerprint);
        if (other) {
          at(
            ['approvers', i, 'keys', k],
            'duplicate-key',
            `key ${key.fingerprint} is already listed for '${other.approver.id}': a key belongs to one person`,
          );
        } else {
          keys.set(key.fingerprint, { key, approver });
        }
      } catch (e) {
        if (!(e instanceof SshKeyError)) throw e;
        at(['approvers', i, 'keys', k], 'bad-key', `${e.message}`);
      }
    });
  });
  return { keys, problems };
}

function checkThresholds(
  source: YamlSource,
  data: ApproversFile,
  keys: Map<string, TrustedKey>,
  revoked: Map<string, string>,
): Problem[] {
  const seniors = new Set(
    [...keys.values()]
      .filter((k) => isSenior(k.approver) && !revoked.has(k.key.fingerprint))
      .map((k) => k.approver.id),
  );
  const problems: Problem[] = [];
  const need = (path: Array<string | number>, n: number, what: string) => {
    if (n > seniors.size) {
      problems.push({
        file: source.file,
        ...source.locate(path),
        rule: 'threshold-unreachable',
        message: `${what} needs ${n} senior signatures but only ${seniors.size} senior(s) have an unrevoked key: add seniors or lower the number`,
      });
    }
  };
  need(['rotation', 'signatures'], data.rotation.signatures, 'rotation');
  need(['policy', 'signatures'], data.policy.signatures, 'the default policy');
  for (const [grade, o] of Object.entries(data.policy.grades ?? {}))
    if (o?.signatures) need(['policy', 'grades', grade, 'signatures'], o.signatures, grade);
  for (const [cat, o] of Object.entries(data.policy.categories ?? {}))
    if (o?.signatures) need(['policy', 'categories', cat, 'signatures'], o.signatures, cat);
  return problems;
}

/**
 * The policy for one category and grade. Thresholds only go up: the required signatures are the
 * highest of the default, the grade's and the category's. The longest validity is the shortest
 * override that applies (a routine standing approval may be allowed 90d while the default is 7d),
 * else the default. Selectors are allowed for routine work only, and only when not switched off.
 */
export function resolvePolicy(store: TrustStore, category: Category, grade: Grade): ResolvedPolicy {
  const p = store.data.policy;
  const byGrade = p.grades?.[grade];
  const byCategory = p.categories?.[category];
  const signatures = Math.max(p.signatures, byGrade?.signatures ?? 0, byCategory?.signatures ?? 0);
  const overrides = [byGrade?.maxValidity, byCategory?.maxValidity].filter(
    (v): v is string => typeof v === 'string',
  );
  const candidates = overrides.length ? overrides : [p.maxValidity];
  const maxValidity = candidates.reduce((a, b) => (parseDuration(b) < parseDuration(a) ? b : a));
  const routine = p.categories?.routine;
  const allowSelectors = category === 'routine' && (routine?.allowSelectors ?? true);
  return { signatures, maxValidity, maxValidityMs: parseDuration(maxValidity), allowSelectors };
}
