import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  didYouMean,
  type FolderWords,
  folderPathProblem,
  type Problem,
  parseYamlSource,
  readDuration,
  schemaProblems,
  sortProblems,
  type Validator,
  type YamlSource,
} from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { alertsErrors } from './error-codes.js';
import {
  validateAlertRules as generatedValidateAlertRules,
  validateOnCall as generatedValidateOnCall,
} from './generated/validators.js';
import type { Grade } from './incident.js';
import type { alertRulesSchema, onCallSchema } from './rules-schema.js';

export type AlertRulesFile = FromSchema<typeof alertRulesSchema>;
type OnCallFile = FromSchema<typeof onCallSchema>;

const validateAlertRules = generatedValidateAlertRules as unknown as Validator<AlertRulesFile>;
const validateOnCall = generatedValidateOnCall as unknown as Validator<OnCallFile>;

export { ALERT_RULES_FILE } from '@opsbook/schema';

/** Label matchers: each label equals one of the values. */
export type Matchers = Record<string, readonly string[]>;

export type CorrelateBy =
  | { labels: readonly string[] }
  | { groups: readonly string[] }
  | { hostVar: string }
  | { host: true };

export interface CorrelateRule {
  name: string;
  match?: Matchers;
  by: CorrelateBy;
  windowMs: number;
}

export interface GradeRule {
  /** 1-based place in `grading.rules`, for the reason. */
  n: number;
  grade: Grade;
  minSeverity?: string;
  minHosts?: number;
  minServices?: number;
  minAlerts?: number;
  labels?: Matchers;
}

export type Owners = { roundRobin: readonly string[] } | { onCall: Shift[]; file: string };

export interface OwnershipRule {
  /** `ownership rule N` (1-based, as `grading rule N`) or `ownership default`, as the ticket says it. */
  name: string;
  /**
   * The round-robin counter's key in the alert store: `ownership.rules[N]` (N 1-based) or
   * `ownership.default`, as stores written before kept them (a turn is not restarted).
   */
  counter: string;
  labels?: Matchers;
  groups?: readonly string[];
  owners: Owners;
}

export interface Shift {
  from: number;
  person: string;
}

/** alerts.yaml, checked, with its defaults filled in. */
export interface AlertRules {
  file: string;
  /** Every file the rules were read from: alerts.yaml and the on-call files it names. */
  files: string[];
  version: number;
  severities: readonly string[];
  windowMs: number;
  quietMs: number;
  hostLabels: readonly string[];
  serviceLabel: string;
  servicesVar: string;
  correlate: CorrelateRule[];
  fallback: readonly string[];
  grading: { default: Grade; rules: GradeRule[] };
  runbooks: { match: Matchers; runbook: string }[];
  ownership: OwnershipRule[];
}

export const DEFAULT_SEVERITIES = ['critical', 'warning', 'info'] as const;
const DEFAULT_GRADING: NonNullable<AlertRulesFile['grading']> = {
  default: 'P4',
  rules: [
    { grade: 'P2', when: { minSeverity: 'critical' } },
    { grade: 'P3', when: { minSeverity: 'warning' } },
  ],
};

function matchersOf(m: Record<string, string | string[]> | undefined): Matchers | undefined {
  if (!m) return undefined;
  return Object.fromEntries(
    Object.entries(m).map(([k, v]) => [k, typeof v === 'string' ? [v] : v]),
  );
}

function ms(text: string | undefined, fallback: string): number {
  return readDuration(text ?? fallback)?.ms ?? 0;
}

export interface LoadRulesOptions {
  /** The runbooks of this repository: a suggestion naming another is refused. */
  runbookNames?: ReadonlySet<string>;
  /** The people tickets can go to: an ownership name (round robin, on call) not among them is refused. */
  people?: KnownPeople;
}

/** The people an ownership rule may name (approvers.yaml: ids and tracker accounts). */
export interface KnownPeople {
  /** Where they are listed, for the message. */
  file: string;
  /** Every name that is one of them: ids and tracker accounts. */
  names: ReadonlySet<string>;
  /** Their ids, as the message suggests them. */
  ids: readonly string[];
}

/** A name of an ownership rule that is nobody `people` knows: a typo assigns tickets to nobody. */
function unknownPerson(
  name: string,
  people: KnownPeople | undefined,
  where: () => { file: string; line: number; col: number },
): Problem[] {
  if (!people || people.names.has(name)) return [];
  const near = didYouMean(name, people.ids) ?? didYouMean(name, [...people.names]);
  return [
    {
      ...where(),
      rule: 'unknown-person',
      message: `'${name}' is not a person of ${people.file}${near ? `: did you mean ${near}?` : '.'} Name people by their id there (${people.ids.join(', ')}), or add them to it first`,
    },
  ];
}

/**
 * Reads alerts.yaml (and the on-call files it names, relative to it) strictly: the one YAML
 * loader, the schema, then what the schema cannot say (unique rule names, severities that are
 * listed, runbooks that exist), every problem at its file:line:col with what to do.
 */
export async function loadAlertRules(
  file: string,
  options: LoadRulesOptions = {},
): Promise<AlertRules> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new alertsErrors.ValidationError(
      [
        {
          file,
          line: 0,
          col: 0,
          rule: 'missing-file',
          message:
            code === 'ENOENT'
              ? `there is no ${path.basename(file)}: write the convergence rules there (docs/alerts.md has a sample), or name the file with --rules`
              : `cannot read the alert rules (${code}): check the path and its permissions`,
        },
      ],
      code === 'ENOENT' ? 'ALERT_RULES_MISSING' : 'ALERT_RULES_INVALID',
    );
  }
  const source = parseYamlSource(file, bytes);
  if (source.problems.length)
    throw new alertsErrors.ValidationError(source.problems, 'ALERT_RULES_INVALID');
  if (!validateAlertRules(source.value))
    throw new alertsErrors.ValidationError(
      schemaProblems(source, validateAlertRules.errors),
      'ALERT_RULES_INVALID',
    );
  const data = source.value;
  const problems = checkRules(source, data, options);
  const onCallFiles: string[] = [];
  const ownership = await ownershipOf(source, data, problems, onCallFiles, options.people);
  if (problems.length)
    throw new alertsErrors.ValidationError(sortProblems(problems), 'ALERT_RULES_INVALID');
  const windowMs = ms(data.window, '15m');
  return {
    file,
    files: [file, ...onCallFiles],
    version: data.version,
    severities: data.severities ?? DEFAULT_SEVERITIES,
    windowMs,
    quietMs: ms(data.quiet, '6h'),
    hostLabels: data.hostLabels ?? ['host', 'instance'],
    serviceLabel: data.serviceLabel ?? 'service',
    servicesVar: data.servicesVar ?? 'services',
    correlate: (data.correlate ?? []).map((r) => ({
      name: r.name,
      ...(r.match ? { match: matchersOf(r.match)! } : {}),
      by: r.by as CorrelateBy,
      windowMs: r.window ? ms(r.window, '15m') : windowMs,
    })),
    fallback: data.fallback ?? ['alertname'],
    grading: gradingOf(data.grading ?? DEFAULT_GRADING),
    runbooks: (data.runbooks ?? []).map((r) => ({
      match: matchersOf(r.match)!,
      runbook: r.runbook,
    })),
    ownership,
  };
}

function gradingOf(grading: NonNullable<AlertRulesFile['grading']>): AlertRules['grading'] {
  return {
    default: grading.default ?? 'P4',
    rules: (grading.rules ?? []).map((r, i) => {
      const labels = matchersOf(r.when.labels);
      return {
        n: i + 1,
        grade: r.grade,
        ...(r.when.minSeverity ? { minSeverity: r.when.minSeverity } : {}),
        ...(r.when.minHosts ? { minHosts: r.when.minHosts } : {}),
        ...(r.when.minServices ? { minServices: r.when.minServices } : {}),
        ...(r.when.minAlerts ? { minAlerts: r.when.minAlerts } : {}),
        ...(labels ? { labels } : {}),
      };
    }),
  };
}

function checkRules(
  source: YamlSource,
  data: AlertRulesFile,
  options: LoadRulesOptions,
): Problem[] {
  const problems: Problem[] = [];
  const at = (p: Array<string | number>, rule: string, message: string) =>
    problems.push({ file: source.file, ...source.locate(p), rule, message });
  const severities: readonly string[] = data.severities ?? DEFAULT_SEVERITIES;
  const names = new Map<string, number>();
  (data.correlate ?? []).forEach((r, i) => {
    const first = names.get(r.name);
    if (first !== undefined)
      at(
        ['correlate', i, 'name'],
        'duplicate-rule',
        `the correlation rule '${r.name}' is already rule ${first + 1}: give each rule its own name (incidents name the rule that opened them)`,
      );
    else names.set(r.name, i);
  });
  (data.grading?.rules ?? []).forEach((r, i) => {
    const s = r.when.minSeverity;
    if (s !== undefined && !severities.includes(s))
      at(
        ['grading', 'rules', i, 'when', 'minSeverity'],
        'unknown-severity',
        `'${s}' is not one of the severities (${severities.join(', ')}): use one of them, or list it under severities:`,
      );
  });
  if (options.runbookNames)
    (data.runbooks ?? []).forEach((r, i) => {
      if (!options.runbookNames!.has(r.runbook)) {
        const near = didYouMean(r.runbook, [...options.runbookNames!]);
        at(
          ['runbooks', i, 'runbook'],
          'unknown-runbook',
          `there is no runbook '${r.runbook}' in this repository${near ? `: did you mean ${near}?` : ''} (opsbook list shows them): fix the name, or add the runbook first`,
        );
      }
    });
  return problems;
}

/** Where on-call files live: beside alerts.yaml, in its folder or below. */
const ON_CALL_FOLDER: FolderWords = {
  folder: 'the folder of alerts.yaml',
  example: 'oncall/storage.yaml',
  keep: 'keep on-call files in the folder of alerts.yaml or below it',
};

async function ownershipOf(
  source: YamlSource,
  data: AlertRulesFile,
  problems: Problem[],
  read: string[],
  people: KnownPeople | undefined,
): Promise<OwnershipRule[]> {
  const dir = path.dirname(source.file);
  const onCallFiles = new Map<string, Shift[]>();
  const ownersOf = async (
    o: { roundRobin: string[] } | { onCall: string },
    at: Array<string | number>,
  ): Promise<Owners> => {
    if ('roundRobin' in o) {
      o.roundRobin.forEach((name, j) => {
        problems.push(
          ...unknownPerson(name, people, () => ({
            file: source.file,
            ...source.locate([...at, 'roundRobin', j]),
          })),
        );
      });
      return { roundRobin: o.roundRobin };
    }
    const namedAt = () => ({ file: source.file, ...source.locate([...at, 'onCall']) });
    // A file outside the folder is not read: what it holds would be shown in the problems (the
    // log of `alerts serve`, a CI run of `opsbook validate`), a token file's token for one. A
    // missing file or a folder is said when it is read.
    const outside = folderPathProblem(dir, o.onCall, ON_CALL_FOLDER);
    if (outside && outside.kind !== 'missing' && outside.kind !== 'not-a-file') {
      problems.push({
        ...namedAt(),
        rule: 'bad-on-call-path',
        message: `the on-call file '${o.onCall}' ${outside.message}`,
      });
      return { onCall: [], file: o.onCall };
    }
    const file = path.join(dir, o.onCall);
    let shifts = onCallFiles.get(file);
    if (!shifts) {
      shifts = await readOnCall(file, problems, namedAt, people);
      onCallFiles.set(file, shifts);
      read.push(file);
    }
    return { onCall: shifts, file: o.onCall };
  };
  const rules: OwnershipRule[] = [];
  const listed = data.ownership?.rules ?? [];
  for (const [i, r] of listed.entries()) {
    const labels = matchersOf(r.match.labels);
    rules.push({
      name: `ownership rule ${i + 1}`,
      counter: `ownership.rules[${i + 1}]`,
      ...(labels ? { labels } : {}),
      ...(r.match.groups ? { groups: r.match.groups } : {}),
      owners: await ownersOf(r, ['ownership', 'rules', i]),
    });
  }
  const fallback = data.ownership?.default;
  if (fallback)
    rules.push({
      name: 'ownership default',
      counter: 'ownership.default',
      owners: await ownersOf(fallback, ['ownership', 'default']),
    });
  return rules;
}

/** An on-call file's shifts, oldest first; its problems join `problems`. */
async function readOnCall(
  file: string,
  problems: Problem[],
  namedAt: () => { file: string; line: number; col: number },
  people: KnownPeople | undefined,
): Promise<Shift[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    problems.push({
      ...namedAt(),
      rule: 'missing-file',
      message: `cannot read the on-call file ${file} (${(e as NodeJS.ErrnoException).code}): the path is relative to alerts.yaml`,
    });
    return [];
  }
  const source = parseYamlSource(file, bytes);
  if (source.problems.length) {
    problems.push(...source.problems);
    return [];
  }
  if (!validateOnCall(source.value)) {
    problems.push(...schemaProblems(source, validateOnCall.errors));
    return [];
  }
  source.value.shifts.forEach((s, k) => {
    problems.push(
      ...unknownPerson(s.person, people, () => ({
        file: source.file,
        ...source.locate(['shifts', k, 'person']),
      })),
    );
  });
  return source.value.shifts
    .map((s) => ({ from: Date.parse(s.from), person: s.person }))
    .sort((a, b) => a.from - b.from);
}
