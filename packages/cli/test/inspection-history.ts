import type { StateStore } from '@opsbook/state';

/** A finding as an `inspection.*` step journals it. */
export type JournaledFinding = Record<string, unknown> & { check: string };

/**
 * Journals one inspection run in `store` as the runner does (run-start, a step-end per finding
 * with `result.findings`, host-end, run-end, one second apart from `at`) and keeps its findings,
 * so `opsbook report` reads it like a real run. A host given `'unreachable'` never answered.
 */
export async function inspectRun(
  store: StateStore,
  runId: string,
  at: string,
  hosts: Record<string, JournaledFinding[] | 'unreachable'>,
): Promise<void> {
  let t = Date.parse(at) - 1000;
  const clock = () => {
    t += 1000;
    return new Date(t);
  };
  await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: 'OPS-1' });
  const journal = await store.createJournal(runId, { clock });
  await journal.append({
    type: 'run-start',
    runbook: { name: 'daily-inspection', version: '1.0.0' },
    hosts: Object.keys(hosts),
  });
  for (const [host, findings] of Object.entries(hosts)) {
    if (findings === 'unreachable') {
      await journal.append({ type: 'host-end', host, status: 'unreachable' });
      continue;
    }
    for (const f of findings) {
      await journal.append({
        type: 'step-end',
        host,
        step: f.check.slice('inspection.'.length),
        status: 'ok',
        uses: f.check,
        result: { findings: [f] },
      });
    }
    await journal.append({ type: 'host-end', host, status: 'ok' });
  }
  await journal.append({ type: 'run-end', status: 'ok', hosts: {} });
  await journal.close();
  await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
  await store.recordFindings(runId);
}
