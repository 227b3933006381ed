import type { CheckContext } from './check-runbook.js';
import type { ComposeRef } from './compose-ref.js';
import type { Problem } from './problem.js';
import type { Phase, Step } from './runbook-schema.js';
import { parseTemplate } from './template.js';
import type { PathSegment } from './yaml-source.js';

/** Step options a composing step cannot take: the composed runbook's own steps carry them. */
const OWN_OPTIONS = {
  where: 'where they run',
  sudo: 'whether they need root',
  timeout: 'how long they may take',
  expect: 'what they must exit with',
  continueOnError: 'whether a failure stops them',
} as const;

/**
 * The checks of a step that `uses: runbook:NAME@RANGE` that need no other runbook: where it may
 * stand, the options it cannot take, and the shape of its `with:`. What needs the library (the
 * range resolving, the composed runbook's params, cycles) is the runner's (compose.ts).
 */
export function checkComposeStep(
  ctx: CheckContext,
  step: Step,
  ref: ComposeRef,
  phase: Phase,
  stepPath: PathSegment[],
  problems: Problem[],
): void {
  const at = (p: PathSegment[], which: 'key' | 'value' = 'value') => ({
    file: ctx.source.file,
    ...ctx.source.locate([...stepPath, ...p], which),
  });
  if (phase === 'evidence') {
    problems.push({
      ...at(['uses']),
      rule: 'compose-in-evidence',
      message: `step '${step.id}' composes runbook ${ref.name} under evidence, which only collects, read-only: compose it under prechecks, steps, postchecks or rollback`,
    });
  }
  for (const [key, what] of Object.entries(OWN_OPTIONS)) {
    if (step[key as keyof typeof OWN_OPTIONS] === undefined) continue;
    problems.push({
      ...at([key], 'key'),
      rule: 'compose-step-option',
      message: `step '${step.id}' composes runbook ${ref.name}, whose own steps say ${what}: remove ${key}: here (set it on the steps of ${ref.name})`,
    });
  }
  for (const [key, value] of Object.entries(step.with ?? {})) {
    if (typeof value !== 'string') {
      if (typeof value === 'number' || typeof value === 'boolean') continue;
      problems.push({
        ...at(['with', key]),
        rule: 'compose-with-type',
        message: `with.${key} is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'a mapping'}: the params of a composed runbook are strings, numbers or booleans`,
      });
      continue;
    }
    for (const part of parseTemplate(value).parts) {
      if (part.kind !== 'ref' || part.ref.kind === 'param') continue;
      problems.push({
        ...at(['with', key]),
        rule: 'compose-with-host',
        message: `with.${key} names ${part.raw}: the params of a composed runbook have one value for the whole run, the same on every host; use ${part.raw} in the steps of ${ref.name} instead`,
      });
    }
  }
}
