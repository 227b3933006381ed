import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { generateValidatorModule } from '@opsbook/schema/codegen';
import { describe, expect, it } from 'vitest';
import { schemasToCompile } from '../compiled-schemas.js';
import { FACTS_COLLECTOR } from './facts-collector.js';
import { computeFleetStatistics } from './fleet-statistics.js';
import { parseHostFacts } from './host-facts.js';
import { fleetStatisticsSchema, type HostFacts, hostFactsSchema } from './host-facts-schema.js';
import {
  readFleetStatistics,
  readHostFacts,
  validateFleetStatistics,
  validateHostFacts,
} from './read-facts-json.js';
import { renderFleetStatisticsJson } from './render-fleet-statistics.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../__fixtures__/${name}/facts.txt`, import.meta.url), 'utf8');
const local = parseHostFacts(
  'localhost',
  execFileSync('/bin/sh', ['-c', FACTS_COLLECTOR], { encoding: 'utf8' }),
);
const clone = (f: HostFacts): HostFacts => structuredClone(f);

describe('the JSON Schemas of host facts and fleet statistics', () => {
  it('are draft 2020-12 documents with an $id', () => {
    for (const schema of [hostFactsSchema, fleetStatisticsSchema]) {
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toMatch(/^https:\/\/opsbook\.dev\/schemas\/[a-z-]+\.json$/);
    }
  });

  it('compile into the committed validators (run `pnpm gen` after changing a schema)', async () => {
    const committed = await readFile(
      new URL('../generated/validators.ts', import.meta.url),
      'utf8',
    );
    expect(committed).toBe(generateValidatorModule(schemasToCompile));
  });

  it('ship as JSON files in dist/ (exports ./host-facts.schema.json, ./fleet-statistics.schema.json)', async () => {
    for (const [name, schema] of [
      ['host-facts', hostFactsSchema],
      ['fleet-statistics', fleetStatisticsSchema],
    ] as const) {
      const text = await readFile(
        new URL(`../../dist/${name}.schema.json`, import.meta.url),
        'utf8',
      );
      expect(JSON.parse(text)).toEqual(schema);
    }
  });

  it.each(['facts-debian-12', 'facts-busybox'])('accept the facts parsed from %s', (name) => {
    const facts = parseHostFacts('h1', fixture(name));
    expect(validateHostFacts(facts), JSON.stringify(validateHostFacts.errors)).toBe(true);
  });

  it('accept the facts of this machine, collected by a real sh, and their statistics', () => {
    expect(validateHostFacts(local), JSON.stringify(validateHostFacts.errors)).toBe(true);
    const stats = computeFleetStatistics([local, { ...clone(local), host: 'twin' }], {
      groups: { web: ['localhost'] },
    });
    expect(validateFleetStatistics(stats), JSON.stringify(validateFleetStatistics.errors)).toBe(
      true,
    );
    expect(readFleetStatistics('stats.json', renderFleetStatisticsJson(stats))).toEqual(stats);
  });

  it('accept a host that gave nothing: every fact null or empty, each with its reason', () => {
    const facts = parseHostFacts('dark', 'garbage\n');
    expect(facts.unknown.length).toBe(9);
    expect(validateHostFacts(facts)).toBe(true);
  });

  it.each<[string, (f: Record<string, unknown> & HostFacts) => void, string]>([
    ['a missing fact', (f) => Reflect.deleteProperty(f, 'kernel'), '"kernel"'],
    ['an extra key', (f) => Object.assign(f, { password: 'x' }), 'password'],
    ['cores as text', (f) => Object.assign(f.cpu ?? {}, { cores: '4' }), '/cpu'],
    ['zero cores', (f) => Object.assign(f.cpu ?? {}, { cores: 0 }), '/cpu'],
    ['a negative size', (f) => Object.assign(f.filesystems[0] ?? {}, { sizeKiB: -1 }), 'sizeKiB'],
    ['a relative mount', (f) => Object.assign(f.filesystems[0] ?? {}, { mount: 'tmp' }), 'mount'],
    [
      'a used % above 100',
      (f) => Object.assign(f.filesystems[0] ?? {}, { usedPct: 140 }),
      'usedPct',
    ],
    ['an unknown fact name', (f) => f.unknown.push({ fact: 'gpu' as 'os', reason: 'x' }), 'fact'],
    [
      'a port out of range',
      (f) => f.services.push({ address: '*', port: 70000, process: null }),
      'port',
    ],
  ])('refuse facts with %s', (_what, breakIt, where) => {
    const broken = clone(local) as Record<string, unknown> & HostFacts;
    breakIt(broken);
    expect(validateHostFacts(broken)).toBe(false);
    expect(JSON.stringify(validateHostFacts.errors)).toContain(where);
  });

  it('readHostFacts points at the line and column of a broken value, and refuses bad JSON', () => {
    const broken = { ...clone(local), cpu: { model: null, cores: -2 } };
    const text = JSON.stringify(broken, null, 2);
    const line = text.split('\n').findIndex((l) => l.includes('"cores": -2')) + 1;
    expect(() => readHostFacts('facts.json', text)).toThrow(
      expect.objectContaining({
        code: 'FACTS_INVALID',
        problems: [expect.objectContaining({ file: 'facts.json', line })],
      }),
    );
    expect(() => readHostFacts('facts.json', '{"host": "a",')).toThrow(
      expect.objectContaining({ code: 'FACTS_INVALID' }),
    );
    expect(readHostFacts('facts.json', JSON.stringify(local))).toEqual(local);
  });

  it('refuse statistics whose hosts are broken', () => {
    const stats = computeFleetStatistics([local]);
    const broken = structuredClone(stats) as { hosts: Record<string, unknown>[] };
    broken.hosts[0] = { ...broken.hosts[0], os: 'Debian' };
    expect(validateFleetStatistics(broken)).toBe(false);
    expect(JSON.stringify(validateFleetStatistics.errors)).toContain('/hosts/0/os');
  });
});
