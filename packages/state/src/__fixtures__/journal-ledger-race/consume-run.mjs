// One of many runners with the same approval. It loads everything, says "ready", and claims a
// run only when told "go", so that all of them hit the ledger at the same moment.
import { once } from 'node:events';
import { consumeRun } from '../../../dist/ledger.js';

const [stateDir, approvalId, maxRuns, runId] = process.argv.slice(2);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
try {
  const { runsUsed } = await consumeRun(stateDir, { approvalId, maxRuns: Number(maxRuns), runId, ticket: 'OPS-7' });
  process.stdout.write(JSON.stringify({ runId, started: true, runsUsed }));
} catch (e) {
  process.stdout.write(JSON.stringify({ runId, started: false, code: e.code, message: e.message }));
}
process.stdin.destroy();
