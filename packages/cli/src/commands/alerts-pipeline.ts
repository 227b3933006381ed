import {
  ALERT_RULES_FILE,
  type AlertPipeline,
  type AlertRules,
  type AlertStore,
  type ConvergeSummary,
  type DispatchReport,
  topologyOf,
} from '@opsbook/alerts';
import { loadInventory } from '@opsbook/inventory';
import { seniorDecisionChecker } from '@opsbook/runner';
import type { Config } from '@opsbook/schema';
import { type CommandContext, type OptionSpec, stringOption } from '../command.js';
import { trackerFor } from '../tracker-services.js';

export { rulesFor } from './alert-rules-file.js';
export { rulesFileOf, shownRulesFile } from './alert-rules-path.js';

/** The options of every alerts command that converges and dispatches. */
export const pipelineOptions: Record<string, OptionSpec> = {
  rules: {
    type: 'string',
    value: 'FILE',
    description: `the convergence rules (default ${ALERT_RULES_FILE} beside opsbook.yaml)`,
  },
  inventory: {
    type: 'string',
    short: 'i',
    value: 'FILE',
    description: "inventory for topology (groups, zones, services; default opsbook.yaml's)",
  },
  'no-dispatch': {
    type: 'boolean',
    description: 'converge and grade, but open no ticket and post no comment',
  },
};

/** The store, rules, inventory topology and (unless --no-dispatch) tracker of a command. */
export async function pipelineFor(
  ctx: CommandContext,
  config: Config,
  store: AlertStore,
  rules: AlertRules,
): Promise<AlertPipeline> {
  const inventoryFile = stringOption(ctx, 'inventory') ?? config.inventory;
  const inventory = inventoryFile ? await loadInventory(inventoryFile) : undefined;
  return {
    store,
    rules,
    topology: topologyOf(inventory, rules.servicesVar),
    ...(ctx.options['no-dispatch']
      ? {}
      : { tracker: trackerFor(config).tracker, isProven: seniorDecisionChecker(config) }),
  };
}

/** What a convergence and dispatch did, in a line or two for a person. */
export function processedText(converged: ConvergeSummary, dispatched?: DispatchReport): string[] {
  const lines: string[] = [];
  const parts = [
    converged.opened.length ? `opened ${converged.opened.join(', ')}` : '',
    converged.updated.length ? `updated ${converged.updated.join(', ')}` : '',
    converged.closed.length ? `closed ${converged.closed.join(', ')} (quiet)` : '',
  ].filter(Boolean);
  if (converged.alerts || parts.length)
    lines.push(
      `converged ${converged.alerts} alert(s)${parts.length ? `: ${parts.join('; ')}` : ''}`,
    );
  if (!dispatched) return lines;
  if (dispatched.created.length)
    lines.push(
      `tickets: ${dispatched.created.map((c) => `${c.key} for ${c.incident}`).join(', ')}`,
    );
  for (const c of dispatched.closed) {
    const went = [
      c.opened.length ? `opened ${c.opened.join(', ')}` : '',
      c.joined.length ? `joined ${c.joined.join(', ')}` : '',
    ].filter(Boolean);
    lines.push(
      `closed ${c.incident}: its ticket ${c.key} is ${c.status}${went.length ? `; its new alerts ${went.join(' and ')}` : ''} (nothing posted on ${c.key})`,
    );
  }
  if (dispatched.comments) lines.push(`${dispatched.comments} comment(s) posted`);
  for (const p of dispatched.priorityRefused)
    lines.push(
      p.created
        ? `warning: ${p.key} (${p.incident}) was created without a priority; its summary and description say ${p.grade}: ${p.message}`
        : `warning: the priority of ${p.key} (${p.incident}) still shows the earlier grade, not ${p.grade}: ${p.message}`,
    );
  for (const r of dispatched.refused)
    lines.push(`the tracker refused a write for ${r.incident} (${r.code}): ${r.message}`);
  if (dispatched.unreachable)
    lines.push(
      `the tracker could not be reached (${dispatched.unreachable}): ${dispatched.waiting.join(', ')} wait in the alert store for the next pass`,
    );
  if (dispatched.busy) lines.push('another opsbook process is dispatching: it sends the tickets');
  return lines;
}
