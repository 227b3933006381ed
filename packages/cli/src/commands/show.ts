import {
  type Composition,
  composedRefs,
  compositionsOf,
  loadOneRunbook,
  readVersionHistory,
} from '@opsbook/runner/catalog';
import {
  digestRunbook,
  type ParamSpec,
  type Phase,
  phases,
  type Step,
  targetDefaults,
} from '@opsbook/schema';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable, type Style } from '../output.js';
import { showControlsIn } from '../terminal-safe.js';

const phaseTitles: Record<Phase, string> = {
  prechecks: 'Prechecks',
  steps: 'Steps',
  postchecks: 'Postchecks',
  rollback: 'Rollback (on hosts where steps failed)',
  evidence: 'Evidence (read-only, attached to the ticket)',
};

function rules(p: ParamSpec): string {
  const r: string[] = [];
  if (p.required) r.push('required');
  if (p.secret) r.push('secret');
  if (p.pattern) r.push(`pattern ${p.pattern}`);
  if (p.enum) r.push(`one of ${p.enum.join('|')}`);
  if (p.minimum !== undefined) r.push(`≥ ${p.minimum}`);
  if (p.maximum !== undefined) r.push(`≤ ${p.maximum}`);
  if (p.minLength !== undefined) r.push(`length ≥ ${p.minLength}`);
  if (p.maxLength !== undefined) r.push(`length ≤ ${p.maxLength}`);
  return r.join(', ');
}

function stepAction(s: Step, composed: Composition | undefined): string {
  if (s.run !== undefined) return `run: ${s.run.trim().split('\n').join('\n      ')}`;
  if (s.script !== undefined)
    return `script: ${s.script}${s.args?.length ? ` ${s.args.join(' ')}` : ''}`;
  const resolved = composed ? ` → ${composed.bundle.name} ${composed.bundle.version}` : '';
  return `uses: ${s.uses}${resolved}${s.with ? ` ${JSON.stringify(s.with)}` : ''}`;
}

function stepFlags(s: Step): string {
  const f: string[] = [];
  if (s.where === 'local') f.push('local');
  if (s.sudo) f.push('sudo');
  if (s.timeout) f.push(`timeout ${s.timeout}`);
  if (s.continueOnError) f.push('continue on error');
  if (s.expect?.exitCode !== undefined) f.push(`exit ${[s.expect.exitCode].flat().join('|')}`);
  if (s.expect?.stdout) f.push(`stdout ~ /${s.expect.stdout}/`);
  return f.length ? ` [${f.join(', ')}]` : '';
}

function renderSteps(
  title: string,
  steps: readonly Step[],
  composes: readonly Composition[],
  style: Style,
): string[] {
  if (!steps.length) return [];
  const lines = ['', style.bold(title)];
  steps.forEach((s, i) => {
    const composed = composes.find((c) => c.step.id === s.id);
    lines.push(`  ${i + 1}. ${s.id} — ${s.name}${stepFlags(s)}`);
    lines.push(`      ${stepAction(s, composed)}`);
    if (composed) lines.push(...composedLines(composed, '        '));
  });
  return lines;
}

/** A composed runbook's phases under its composing step, and what it composes in turn. */
function composedLines(composed: Composition, indent: string): string[] {
  // The composed runbook's strings are its author's, shown as text like the composite's.
  const { spec } = showControlsIn(composed.bundle.runbook);
  const lines: string[] = [];
  for (const phase of phases) {
    const steps = spec[phase] ?? [];
    if (!steps.length) continue;
    lines.push(`${indent}${phase}`);
    for (const s of steps) {
      const inner = composed.children.find((c) => c.step.id === s.id);
      lines.push(`${indent}  ${s.id} — ${s.name}${stepFlags(s)}`);
      lines.push(`${indent}    ${stepAction(s, inner).split('\n').join(`\n${indent}`)}`);
      if (inner) lines.push(...composedLines(inner, `${indent}      `));
    }
  }
  return lines;
}

export default defineCommand({
  args: '<runbook>',
  isDoneWhenResolved: true,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const config = await configFor(ctx);
    const bundle = await loadOneRunbook(ctx.positionals[0]!, config);
    const [{ digest }, versions, composes] = await Promise.all([
      digestRunbook(bundle.dir, bundle),
      readVersionHistory(bundle.dir),
      compositionsOf(bundle),
    ]);
    if (ctx.out.json) {
      ctx.out.printJson({
        name: bundle.name,
        version: bundle.version,
        digest,
        ...(composes.length ? { composed: composedRefs(composes) } : {}),
        dir: bundle.dir,
        runbook: bundle.runbook,
        versions,
      });
      return exitCodes.ok;
    }
    const { style } = ctx.out;
    // Every string of the runbook and its changelog is the author's, shown as text.
    const { metadata, spec } = showControlsIn(bundle.runbook);
    const lines = [
      `${style.bold(bundle.name)} ${bundle.version}  ${metadata.title}`,
      `category ${metadata.category}, grade ${metadata.grade}${metadata.owners?.length ? `, owners ${metadata.owners.join(', ')}` : ''}`,
      `digest ${digest}`,
    ];
    if (metadata.description) lines.push('', metadata.description.trim());
    const params = Object.entries(spec.params ?? {});
    lines.push('', style.bold('Params'));
    lines.push(
      params.length
        ? formatTable(
            ['NAME', 'TYPE', 'DEFAULT', 'RULES', 'DESCRIPTION'],
            params.map(([n, p]) => [
              n,
              p.type,
              p.secret ? '(from env)' : p.default === undefined ? '—' : JSON.stringify(p.default),
              rules(p),
              p.description ?? '',
            ]),
          )
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n')
        : '  (none)',
    );
    const t = spec.targets ?? {};
    lines.push(
      '',
      style.bold('Targets'),
      `  default ${t.default ?? '(none: --target required)'}, concurrency ${t.concurrency ?? targetDefaults.concurrency}, maxFailures ${t.maxFailures ?? targetDefaults.maxFailures}`,
    );
    for (const phase of phases)
      lines.push(...renderSteps(phaseTitles[phase], spec[phase] ?? [], composes, style));
    lines.push('', style.bold('Versions'));
    if (versions.length)
      for (const v of showControlsIn(versions.slice(0, 10)))
        lines.push(`  ${v.version}${v.changes[0] ? `  ${v.changes[0]}` : ''}`);
    else lines.push(`  ${bundle.version} (no CHANGELOG.md yet)`);
    ctx.out.print(lines.join('\n'));
    return exitCodes.ok;
  },
});
