import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthReportAction, healthReportSchema } from '../src/index.js';
import { writeRuns } from './journal-fixture.js';
import { inventoryGroups, knownRuns } from './known-history.js';

let temp: { dir: string; remove: () => Promise<void> };
const now = new Date('2025-03-04T00:00:00Z');

beforeAll(async () => {
  temp = await makeTempDir('opsbook-health-action-');
  await writeRuns(path.join(temp.dir, 'state'), knownRuns);
});
afterAll(() => temp?.remove());

describe('the health.report action', () => {
  it('writes the files asked for and returns the Markdown and a summary', async () => {
    const outputDir = path.join(temp.dir, 'out');
    const out = await healthReportAction.run({
      stateDir: path.join(temp.dir, 'state'),
      now,
      with: { since: '30d' },
      outputDir,
      inventory: inventoryGroups,
    });
    expect(out.files).toEqual(
      ['html', 'md', 'json'].map((ext) => path.join(outputDir, `health-report.${ext}`)),
    );
    expect(await readFile(out.files[1]!, 'utf8')).toBe(out.markdown);
    expect(out.summary).toMatchObject({
      score: 86.1,
      hosts: 4,
      reporting: 3,
      unreachable: 1,
      crit: 1,
      warn: 2,
      unknown: 1,
      newCriticals: 1,
      days: 3,
    });
    expect(await readFile(out.files[0]!, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('writes JSON that validates against the exported JSON Schema', async () => {
    const json = JSON.parse(
      await readFile(path.join(temp.dir, 'out', 'health-report.json'), 'utf8'),
    );
    const validate = new Ajv2020({ strict: false }).compile(healthReportSchema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(json.kind).toBe('HealthReport');
  });

  it('compares with the previous report found in the output folder', async () => {
    const outputDir = path.join(temp.dir, 'prev');
    await healthReportAction.run({
      stateDir: path.join(temp.dir, 'state'),
      now: new Date('2025-03-01T12:00:00Z'),
      with: { format: ['json'] },
      outputDir,
    });
    const out = await healthReportAction.run({
      stateDir: path.join(temp.dir, 'state'),
      now,
      with: { format: ['json'] },
      outputDir,
    });
    const report = JSON.parse(await readFile(out.files[0]!, 'utf8'));
    expect(report.changes.baseline).toBe('2025-03-01T12:00:00.000Z');
    expect(report.changes.recovered.map((c: { host: string }) => c.host)).toEqual(['db-01']);
  });

  it('ignores a previous report file that is not one', async () => {
    const outputDir = path.join(temp.dir, 'junk');
    await healthReportAction.run({
      stateDir: path.join(temp.dir, 'state'),
      now,
      with: { format: ['md'] },
      outputDir,
    });
    await writeFile(path.join(outputDir, 'health-report.json'), '{"kind":"Other"');
    const out = await healthReportAction.run({
      stateDir: path.join(temp.dir, 'state'),
      now,
      with: { format: ['json'] },
      outputDir,
    });
    expect(JSON.parse(await readFile(out.files[0]!, 'utf8')).changes.baseline).toBe(
      '2025-03-02T23:59:59.999Z',
    );
  });

  it('refuses a with: outside its schema', async () => {
    const run = (w: unknown) =>
      healthReportAction.run({
        stateDir: temp.dir,
        now,
        with: w,
        outputDir: path.join(temp.dir, 'x'),
      });
    await expect(run({ since: '2w' })).rejects.toThrow(ValidationError);
    await expect(run({ format: ['pdf'] })).rejects.toThrow(/format must be/);
    await expect(run({ format: [] })).rejects.toThrow(ValidationError);
    await expect(run({ sincee: '30d' })).rejects.toThrow(/unknown key\(s\) sincee/);
  });

  it('publishes a closed with: schema', () => {
    expect(healthReportAction.name).toBe('health.report');
    expect(healthReportAction.withSchema.additionalProperties).toBe(false);
    const validate = new Ajv2020({ strict: false }).compile(healthReportAction.withSchema);
    expect(validate({ since: '7d', format: ['html', 'md'] })).toBe(true);
    expect(validate({ since: '7 days' })).toBe(false);
    expect(validate({ other: 1 })).toBe(false);
  });
});
