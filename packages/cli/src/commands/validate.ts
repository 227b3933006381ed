import { accessSync } from 'node:fs';
import path from 'node:path';
import { loadCatalog, outsideRepository, shownFolder } from '@opsbook/runner/catalog';
import {
  ALERT_RULES_FILE,
  type Problem,
  sortProblems,
  UsageError,
  ValidationError,
} from '@opsbook/schema';
import { type CommandContext, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { FullBuildNeeded } from '../full-build.js';
import { showProblem } from '../terminal-safe.js';
import { rulesFileOf, shownRulesFile } from './alert-rules-path.js';

export default defineCommand({
  args: '[runbook…]',
  isDoneWhenResolved: true,
  positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  options: {
    rules: {
      type: 'string',
      value: 'FILE',
      description: `also check these alert rules (default: ${ALERT_RULES_FILE} beside opsbook.yaml, when there is one and no runbook is named)`,
    },
  },
  details: `Checks every runbook of the repository, or the runbooks named (by name or folder), and
${ALERT_RULES_FILE} (its on-call files, severities, runbooks and the people it names) when it sits
beside opsbook.yaml or --rules names it. Each problem is printed as file:line:col: message.
Exit 2 when any runbook or the alert rules have a problem.

Examples:
  opsbook validate
  opsbook validate disk-cleanup runbooks/service-restart
  opsbook validate --rules alerts.yaml`,
  async run(ctx) {
    const config = await configFor(ctx);
    // Before anything is read or printed: rules to check need the full build (see below).
    const rulesFile = await rulesToCheck(ctx, config);
    const rulesLoader = rulesFile ? await import('./alert-rules-file.js') : undefined;
    if (rulesLoader?.fullBuildOnly) throw new FullBuildNeeded();
    // Only the problems matter here: composed runbooks are checked, not digested.
    const results = await loadCatalog(config, ctx.positionals, process.cwd(), { checkOnly: true });
    // From the wrong folder there is nothing to check, which must not pass a CI gate.
    const outside = results.length === 0 && !rulesFile ? outsideRepository(config) : undefined;
    if (outside) throw new UsageError(`no runbooks to validate: ${outside}`);
    const rules =
      rulesFile && rulesLoader
        ? await checkAlertRules(ctx, config, rulesFile, rulesLoader)
        : undefined;
    const problems: Problem[] = sortProblems([
      ...results.flatMap((r) => r.problems),
      ...(rules?.problems ?? []),
    ]);
    const bad = results.filter((r) => !r.ok).length;
    if (ctx.out.json) {
      ctx.out.printJson({
        ok: problems.length === 0,
        runbooks: results.map((r) =>
          r.ok
            ? {
                name: r.bundle.name,
                version: r.bundle.version,
                dir: r.bundle.dir,
                ok: true,
                problems: [],
              }
            : { name: path.basename(r.dir), dir: r.dir, ok: false, problems: r.problems },
        ),
        ...(rules ? { alertRules: { ...rules, ok: rules.problems.length === 0 } } : {}),
      });
    } else {
      const { style } = ctx.out;
      for (const p of problems) ctx.out.print(showProblem(p));
      if (results.length === 0)
        ctx.out.note(`no runbooks found in ${shownFolder(config.runbooksDir)}`);
      const runbooks = `${results.length} runbook${results.length === 1 ? '' : 's'}`;
      if (problems.length) {
        const where = [
          ...(bad ? [`${bad} of ${runbooks}`] : []),
          ...(rules?.problems.length ? [rules.file] : []),
        ];
        ctx.out.print(
          style.red(
            `✗ ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${where.join(' and ')}`,
          ),
        );
      } else if (results.length || rules) {
        const valid = [...(results.length ? [runbooks] : []), ...(rules ? [rules.file] : [])];
        ctx.out.print(style.green(`✓ ${valid.join(' and ')} valid`));
      }
    }
    return problems.length ? exitCodes.invalid : exitCodes.ok;
  },
});

/**
 * The alert rules to check, if any: --rules names them, or no runbook was named and alerts.yaml
 * sits beside opsbook.yaml. Light: dist/fast.js (validate's bundle) does not hold the rules'
 * loader, so that a repository without alerts.yaml validates as fast as before.
 */
async function rulesToCheck(
  ctx: CommandContext,
  config: Awaited<ReturnType<typeof configFor>>,
): Promise<string | undefined> {
  const file = rulesFileOf(ctx, config);
  if (stringOption(ctx, 'rules') !== undefined) return file; // missing: an error, below
  return ctx.positionals.length === 0 && exists(file) ? file : undefined;
}

/** The alert rules' problems (a --rules file that is missing is an error). */
async function checkAlertRules(
  ctx: CommandContext,
  config: Awaited<ReturnType<typeof configFor>>,
  file: string,
  loader: typeof import('./alert-rules-file.js'),
): Promise<{ file: string; problems: Problem[] }> {
  const shown = shownRulesFile(file);
  try {
    await loader.rulesFor(ctx, config, false);
    return { file: shown, problems: [] };
  } catch (e) {
    if (e instanceof ValidationError && e.code === 'ALERT_RULES_INVALID')
      return { file: shown, problems: e.problems };
    throw e;
  }
}

/**
 * Whether `file` is there. Synchronously, from node:fs: node:fs/promises (and the readline
 * modules it loads) would cost validate ~1.5 ms of start-up for this one check.
 */
function exists(file: string): boolean {
  try {
    accessSync(file);
    return true;
  } catch {
    return false;
  }
}
