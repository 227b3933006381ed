import path from 'node:path';
import { type Config, didYouMean, findRunbookDirs, type Problem } from '@opsbook/schema';
import { loadRunbookFor } from '../plan/catalog.js';
import { schedulesOf } from './schedules.js';

/**
 * Each schedule whose `runbook` names no runbook of the library (a typo), or one that is not
 * routine, as a problem at its place in opsbook.yaml. Every slot of such a schedule would be
 * refused, hours later and with advice about standing approvals; `opsbook schedule run` and
 * `schedule list` say it when they start. Not refused there: the other schedules still run.
 */
export async function scheduleRunbookProblems(config: Config): Promise<Problem[]> {
  const schedules = schedulesOf(config);
  if (!schedules.length) return [];
  const dirs = await findRunbookDirs(config.runbooksDir, config.runbooksNamedAt);
  const byName = new Map(dirs.map((d) => [path.basename(d), d]));
  const folder = config.raw.runbooks ?? 'runbooks';
  const problems: Problem[] = [];
  for (const s of schedules) {
    const at = config.locate?.(['schedules', s.name, 'runbook']) ?? {
      file: config.file ?? 'opsbook.yaml',
      line: 0,
      col: 0,
    };
    const dir = byName.get(s.runbook);
    if (!dir) {
      const known = [...byName.keys()];
      const guess = didYouMean(s.runbook, known);
      const hint = guess
        ? `did you mean '${guess}'?`
        : known.length
          ? `it has ${known.join(', ')}`
          : 'it has none';
      problems.push({
        ...at,
        rule: 'schedule-runbook-unknown',
        message: `schedules.${s.name}.runbook: there is no runbook '${s.runbook}' in ${folder} (${hint}): every slot of ${s.name} is refused until it names a routine runbook`,
      });
      continue;
    }
    const loaded = await loadRunbookFor(dir, config.root);
    const category = loaded.ok ? loaded.bundle.runbook.metadata.category : undefined;
    if (category && category !== 'routine')
      problems.push({
        ...at,
        rule: 'schedule-runbook-not-routine',
        message: `schedules.${s.name}.runbook: ${s.runbook} is ${category === 'incident' ? 'an' : 'a'} ${category} runbook, and a schedule runs only routine ones, under their standing approval: every slot of ${s.name} is refused`,
      });
  }
  return problems;
}
