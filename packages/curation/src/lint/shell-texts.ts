import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Phase, phases, type RunbookBundle, type Step, scalarOffsets } from '@opsbook/schema';
import { lineIndex } from './line-index.js';
import { type Placeholder, renderRunBlock } from './run-block.js';
import type { LineRange } from './suppressions.js';

/** A piece of shell a runbook runs: a step's run: block or a script of its folder. */
export interface ShellText {
  runbook: string;
  kind: 'run' | 'script';
  /** The file findings are shown in: runbook.yaml for a run: block, the script for a script. */
  file: string;
  /** The step it belongs to (a script's first step, when several use it). */
  step: { phase: Phase; id: string; index: number };
  /** What ShellCheck reads: the run: block with stand-ins, or the script as it is. */
  text: string;
  /** The script's absolute path (ShellCheck reads the file); undefined for a run: block. */
  path?: string;
  /** 1-based line and column in `text` → the same place in `file`. */
  locate(line: number, col: number): { line: number; col: number };
  /** A run: block's placeholders (empty for a script). */
  placeholders: Placeholder[];
}

/** A step of a runbook with where it is. */
export interface LocatedStep {
  phase: Phase;
  index: number;
  step: Step;
  /** The lines of runbook.yaml the step spans. */
  lines: LineRange;
}

/** Every step, in phase order, with the runbook.yaml lines it spans. */
export function locatedSteps(bundle: RunbookBundle): LocatedStep[] {
  const lines = lineIndex(bundle.source.text);
  const located: LocatedStep[] = [];
  for (const phase of phases) {
    const steps = bundle.runbook.spec[phase] ?? [];
    for (let index = 0; index < steps.length; index++) {
      const span = bundle.source.span(['spec', phase, index]);
      const from = span ? lines.position(span.start).line : 0;
      const to = span ? lines.position(Math.max(span.start, span.end - 1)).line : 0;
      located.push({ phase, index, step: steps[index]!, lines: { from, to } });
    }
  }
  return located;
}

/** The run: blocks and scripts of a runbook (each script once), ready for ShellCheck. */
export function shellTexts(bundle: RunbookBundle, steps: readonly LocatedStep[]): ShellText[] {
  const texts: ShellText[] = [];
  const params = bundle.runbook.spec.params ?? {};
  const sourceLines = lineIndex(bundle.source.text);
  const scripts = new Set<string>();
  for (const { phase, index, step } of steps) {
    const where = { phase, id: step.id, index };
    if (step.run !== undefined) {
      const rendered = renderRunBlock(step.run, params);
      const span = bundle.source.span(['spec', phase, index, 'run']);
      const toSource = span
        ? scalarOffsets(bundle.source.text, span, step.run)
        : () => sourceLines.offset(bundle.source.locate(['spec', phase, index]).line, 1);
      const renderedLines = lineIndex(rendered.text);
      texts.push({
        runbook: bundle.name,
        kind: 'run',
        file: bundle.file,
        step: where,
        text: rendered.text,
        locate: (line, col) =>
          sourceLines.position(toSource(rendered.templateOffset(renderedLines.offset(line, col)))),
        placeholders: rendered.placeholders,
      });
    } else if (step.script !== undefined) {
      const rel = step.script.replace(/^\.\//, '');
      if (scripts.has(rel)) continue;
      scripts.add(rel);
      const absolute = path.join(bundle.dir, rel);
      texts.push({
        runbook: bundle.name,
        kind: 'script',
        file: path.join(path.dirname(bundle.file), rel),
        step: where,
        // Loading checked that the script is a regular file inside the folder.
        text: readFileSync(absolute, 'utf8'),
        path: absolute,
        locate: (line, col) => ({ line, col }),
        placeholders: [],
      });
    }
  }
  return texts;
}

/** The position in `text.file` of `offset` in `text.text`. */
export function positionOf(text: ShellText, offset: number): { line: number; col: number } {
  const at = lineIndex(text.text).position(offset);
  return text.locate(at.line, at.col);
}
