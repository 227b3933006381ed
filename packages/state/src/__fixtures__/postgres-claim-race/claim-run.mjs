// One of many runners, in its own working copy (the cwd: its opsbook.yaml names the team's
// PostgreSQL store), with the same approval. It loads everything and connects, says "ready",
// and claims a run only when told "go", so that all of them hit the database at the same moment.
import { once } from 'node:events';
import { loadConfig } from '@opsbook/schema';
import { closeStateStores, stateStoreOf } from '../../../dist/index.js';

const [approvalId, maxRuns, runId] = process.argv.slice(2);
const store = stateStoreOf(await loadConfig({ env: process.env }));
await store.runsUsed(approvalId); // connect and check the schema before the race
process.stdout.write('ready\n');
await once(process.stdin, 'data');
try {
  const { runsUsed } = await store.claimRun({ approvalId, maxRuns: Number(maxRuns), runId, ticket: 'OPS-7' });
  process.stdout.write(JSON.stringify({ runId, cwd: process.cwd(), started: true, runsUsed }));
} catch (e) {
  process.stdout.write(JSON.stringify({ runId, cwd: process.cwd(), started: false, code: e.code, message: e.message }));
}
await closeStateStores();
process.stdin.destroy();
