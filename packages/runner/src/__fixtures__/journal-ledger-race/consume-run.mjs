// One of many runners started at once with the same approval: prints whether the ledger let it run.
import { consumeRun } from '../../../dist/ledger.js';

const [stateDir, approvalId, maxRuns, runId] = process.argv.slice(2);
try {
  const { runsUsed } = await consumeRun(stateDir, { approvalId, maxRuns: Number(maxRuns), runId, ticket: 'OPS-7' });
  process.stdout.write(JSON.stringify({ runId, started: true, runsUsed }));
} catch (e) {
  process.stdout.write(JSON.stringify({ runId, started: false, code: e.code, message: e.message }));
}
