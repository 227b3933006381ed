import path from 'node:path';
import { type AlertRules, loadAlertRules } from '@opsbook/alerts';
import { trustStorePeople } from '@opsbook/approval';
import { type Config, findRunbookDirs, ValidationError } from '@opsbook/schema';
import { type CommandContext, stringOption } from '../command.js';
import { rulesFileOf, shownRulesFile } from './alert-rules-path.js';

/*
 * Loading alerts.yaml, apart from the alert pipeline: `opsbook doctor` and `opsbook validate`
 * load it without the runner. This module is not in dist/fast.js (scripts/bundle.mjs puts a
 * stub there whose `fullBuildOnly` is true): `validate` then reruns in the full build.
 */

/** False here; true in the stub that stands for this module in the cached bundles. */
export const fullBuildOnly = false as boolean;

/**
 * alerts.yaml, checked against this repository's runbooks; undefined when there is none at its
 * default place and `optional` (serve and ingest then only store). A `--rules` file that is not
 * there is refused (ALERT_RULES_MISSING, exit 2).
 */
export async function rulesFor(
  ctx: CommandContext,
  config: Config,
  optional: boolean,
): Promise<AlertRules | undefined> {
  const file = rulesFileOf(ctx, config);
  const runbookNames = new Set(
    (await findRunbookDirs(config.runbooksDir, config.runbooksNamedAt)).map((d) =>
      path.basename(d),
    ),
  );
  // Ownership names are checked against approvers.yaml on the local tracker (Jira knows accounts
  // opsbook does not list: there `opsbook doctor` asks it).
  const people =
    (config.raw.tracker?.kind ?? 'local') === 'local'
      ? await trustStorePeople(config.trustStore)
      : undefined;
  try {
    // Suggestions are checked against the runbooks when the repository has some.
    return await loadAlertRules(shownRulesFile(file), {
      ...(runbookNames.size ? { runbookNames } : {}),
      ...(people ? { people } : {}),
    });
  } catch (e) {
    // Only the default place may be empty: a --rules path that is not there is a mistake (a
    // typo would otherwise leave the alerts stored and never converged, with one note).
    const given = stringOption(ctx, 'rules') !== undefined;
    if (optional && !given && e instanceof ValidationError && e.code === 'ALERT_RULES_MISSING')
      return undefined;
    throw e;
  }
}
