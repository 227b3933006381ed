// A runner stand-in that journals events until it is killed. After each append resolves (the
// event is fsynced) it prints the event's seq and hash: everything printed must survive SIGKILL.
import { Journal } from '../../../dist/journal.js';

const [stateDir, runId] = process.argv.slice(2);
const journal = await Journal.create(stateDir, runId);
const acknowledge = (line) => process.stdout.write(`${JSON.stringify({ seq: line.seq, hash: line.hash })}\n`);

acknowledge(
  await journal.append({
    type: 'run-start',
    runId,
    ticket: 'OPS-42',
    runbook: { name: 'disk-cleanup', version: '1.2.0' },
    approval: { id: 'apr-killed' },
    hosts: ['web-01', 'web-02'],
  }),
);
// Bounded: the test kills this process after a few dozen events.
for (let step = 0; step < 100_000; step++) {
  const lines = await Promise.all(
    ['web-01', 'web-02'].map((host) =>
      journal.append({ type: 'step-end', host, step: `s${step}`, status: 'ok', exitCode: 0, stdout: `step ${step} on ${host}\n`.repeat(20) }),
    ),
  );
  for (const line of lines) acknowledge(line);
}
