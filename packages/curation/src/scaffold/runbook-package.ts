import { controlRisk, describeControl, forbiddenControl, RUNBOOK_SCOPE } from '@opsbook/schema';
import { curationErrors } from '../error-codes.js';

/**
 * What every new runbook package is made of, whoever makes it (`pnpm new-runbook`, `opsbook
 * promote`): the name rule, the category and grade choices, package.json, and the changeset
 * that gives it its first version. Pure: the callers write the files.
 */

export const RUNBOOK_CATEGORIES = ['routine', 'incident', 'change'] as const;
export type RunbookCategory = (typeof RUNBOOK_CATEGORIES)[number];
export const RUNBOOK_GRADES = ['P1', 'P2', 'P3', 'P4'] as const;
export type RunbookGrade = (typeof RUNBOOK_GRADES)[number];

/** The same rule as the schema's `metadata.name`, said for a person. */
export const RUNBOOK_NAME_RULE =
  'lowercase letters, digits and "-", starting with a letter, at most 64 characters (e.g. rotate-certs)';

export function isRunbookName(name: string): boolean {
  return /^[a-z][a-z0-9-]*$/.test(name) && name.length <= 64;
}

/** Throws RUNBOOK_NAME_INVALID unless `name` can name a runbook. */
export function checkRunbookName(name: string): void {
  if (!isRunbookName(name))
    throw new curationErrors.OpsbookError(
      'invalid',
      'RUNBOOK_NAME_INVALID',
      `${JSON.stringify(name)} is not a valid runbook name: use ${RUNBOOK_NAME_RULE}`,
      { name },
    );
}

export interface ScaffoldChoices {
  category: RunbookCategory;
  grade: RunbookGrade;
}

/**
 * The category (default incident) and grade (default P4 for routine work, else P3) of a new
 * runbook; throws RUNBOOK_OPTION_INVALID for any other value.
 */
export function scaffoldChoices(category?: string, grade?: string): ScaffoldChoices {
  const c = category ?? 'incident';
  if (!(RUNBOOK_CATEGORIES as readonly string[]).includes(c))
    throw new curationErrors.OpsbookError(
      'invalid',
      'RUNBOOK_OPTION_INVALID',
      `--category must be ${RUNBOOK_CATEGORIES.join(', ')}, not ${JSON.stringify(c)}`,
    );
  const g = grade ?? (c === 'routine' ? 'P4' : 'P3');
  if (!(RUNBOOK_GRADES as readonly string[]).includes(g))
    throw new curationErrors.OpsbookError(
      'invalid',
      'RUNBOOK_OPTION_INVALID',
      `--grade must be ${RUNBOOK_GRADES.join(', ')}, not ${JSON.stringify(g)}`,
    );
  return { category: c as RunbookCategory, grade: g as RunbookGrade };
}

/**
 * A new runbook's package.json: private, at 0.0.0 until its first changeset is applied
 * (`pnpm version-packages` makes it 0.1.0 and writes its CHANGELOG.md).
 */
export function runbookPackageJson(name: string, description: string): string {
  const pkg = { name: `${RUNBOOK_SCOPE}${name}`, version: '0.0.0', private: true, description };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** The changeset of a new runbook's first version: its path from the repository root and text. */
export function firstVersionChangeset(
  name: string,
  summary: string,
): { path: string; text: string } {
  return {
    path: `.changeset/new-runbook-${name}.md`,
    text: `---\n"${RUNBOOK_SCOPE}${name}": minor\n---\n\n${summary.trim()}\n`,
  };
}

/** The schema's limit on metadata.title. */
export const RUNBOOK_TITLE_MAX = 200;

/**
 * Why `title` cannot be a runbook's metadata.title (the rules `opsbook validate` applies), as the
 * rest of a sentence that starts with the option's name; undefined when it can.
 */
export function runbookTitleProblem(title: string): string | undefined {
  if (!title.trim())
    return 'is empty: give a one-line title, e.g. --title "Rotate TLS certificates"';
  const length = [...title].length;
  if (length > RUNBOOK_TITLE_MAX)
    return `is ${length} characters long: give at most ${RUNBOOK_TITLE_MAX} (the runbook's description is the place for more)`;
  const code = forbiddenControl(title, false);
  if (code === undefined) return undefined;
  if (code === 0x0a || code === 0x0d) return 'holds a line break: give a title of one line';
  if (code === 0x09) return 'holds a tab: use spaces';
  return `holds control character ${describeControl(code)}: ${controlRisk(code)}; remove it`;
}

/** RUNBOOK_OPTION_INVALID for a --title a runbook cannot have. */
export function checkRunbookTitle(title: string): void {
  const why = runbookTitleProblem(title);
  if (why)
    throw new curationErrors.OpsbookError('invalid', 'RUNBOOK_OPTION_INVALID', `--title ${why}`);
}
