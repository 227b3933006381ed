import { readFile } from 'node:fs/promises';
import { compileSchema } from '@opsbook/schema';
import { type RunEvent, runEventSchema } from '../src/execute/run-events.js';

/**
 * Every line of a journal file that does not validate against the run event schema once its
 * chain fields are taken off, as `line N: <ajv errors>`; empty when all do.
 */
export async function journalSchemaProblems(file: string): Promise<string[]> {
  const validate = await compileSchema<RunEvent>(runEventSchema);
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  const problems: string[] = [];
  lines.forEach((text, i) => {
    const { seq: _seq, at: _at, prev: _prev, hash: _hash, ...event } = JSON.parse(text);
    if (!validate(event)) problems.push(`line ${i + 1}: ${JSON.stringify(validate.errors)}`);
  });
  return problems;
}
