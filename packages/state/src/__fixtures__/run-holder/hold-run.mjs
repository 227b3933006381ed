// A runner stand-in that starts a run's journal and then waits, to be killed: it claims the run,
// creates its journal (as the runner does, which marks the run as running), writes run-start,
// prints "ready", and stays until killed (or 60 s, so that it always ends).
import { filesStore, postgresStore } from '../../../dist/index.js';

const [kind, location, runId] = process.argv.slice(2);
const store = kind === 'files' ? filesStore(location) : postgresStore({ url: location });
await store.claimRun({ approvalId: 'apr-held', maxRuns: 5, runId, ticket: 'OPS-9' });
const journal = await store.createJournal(runId);
await journal.append({
  type: 'run-start',
  ticket: 'OPS-9',
  runbook: { name: 'disk-cleanup', version: '1.2.0' },
  approval: { id: 'apr-held' },
  hosts: ['web-01'],
});
process.stdout.write('ready\n');
setTimeout(() => process.exit(0), 60_000);
