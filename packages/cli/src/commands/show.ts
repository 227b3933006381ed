import { loadOneRunbook, readVersionHistory } from '@opsbook/runner/catalog';
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

function stepAction(s: Step): string {
  if (s.run !== undefined) return `run: ${s.run.trim().split('\n').join('\n      ')}`;
  if (s.script !== undefined)
    return `script: ${s.script}${s.args?.length ? ` ${s.args.join(' ')}` : ''}`;
  return `uses: ${s.uses}${s.with ? ` ${JSON.stringify(s.with)}` : ''}`;
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

function renderSteps(title: string, steps: readonly Step[], style: Style): string[] {
  if (!steps.length) return [];
  const lines = ['', style.bold(title)];
  steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.id} — ${s.name}${stepFlags(s)}`);
    lines.push(`      ${stepAction(s)}`);
  });
  return lines;
}

export default defineCommand({
  args: '<runbook>',
  isDoneWhenResolved: true,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const config = await configFor(ctx);
    const bundle = await loadOneRunbook(ctx.positionals[0]!, config);
    const [{ digest }, versions] = await Promise.all([
      digestRunbook(bundle.dir, bundle),
      readVersionHistory(bundle.dir),
    ]);
    if (ctx.out.json) {
      ctx.out.printJson({
        name: bundle.name,
        version: bundle.version,
        digest,
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
      lines.push(...renderSteps(phaseTitles[phase], spec[phase] ?? [], style));
    lines.push('', style.bold('Versions'));
    if (versions.length)
      for (const v of showControlsIn(versions.slice(0, 10)))
        lines.push(`  ${v.version}${v.changes[0] ? `  ${v.changes[0]}` : ''}`);
    else lines.push(`  ${bundle.version} (no CHANGELOG.md yet)`);
    ctx.out.print(lines.join('\n'));
    return exitCodes.ok;
  },
});
