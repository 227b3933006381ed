import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findingSchema, inspectionCheckNames, runCheck } from './index.js';

/** A valid `with:` for every check, so that only the output varies. */
const sampleWith: Record<string, object> = {
  'inspection.unit-active': { unit: 'nginx' },
  'inspection.process': { name: 'nginx' },
  'inspection.port-listening': { port: 22 },
  'inspection.endpoint': { url: 'http://127.0.0.1/' },
  'inspection.tls-cert': { host: 'example.org' },
  'inspection.log-errors': { file: '/var/log/syslog' },
  'inspection.backup-age': { path: '/backup' },
};

const realOutputs = ['debian-12', 'busybox', 'rhel-9', 'alpine-3'].flatMap((distro) => {
  const dir = new URL(`./__fixtures__/${distro}/`, import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => readFileSync(new URL(f, dir), 'utf8'));
});

const garbage: Record<string, string> = {
  empty: '',
  whitespace: ' \n\n\t\n',
  binary: String.fromCharCode(...Array.from({ length: 512 }, (_, i) => (i * 37) % 256)),
  'NUL bytes': '\0\0\0OPSBOOK_EXIT 0\0\n\0',
  'a stray marker only': 'OPSBOOK_SECTION\nOPSBOOK_EXIT\nOPSBOOK_NOW x\n',
  'a shell error': 'sh: 1: Syntax error: Unterminated quoted string\n',
};

const allowedKeys = Object.keys(findingSchema.properties);

function expectWellFormed(findings: unknown[]): void {
  for (const f of findings as Record<string, unknown>[]) {
    expect(Object.keys(f).every((k) => allowedKeys.includes(k))).toBe(true);
    expect(['ok', 'warn', 'crit', 'unknown']).toContain(f.status);
    expect(typeof f.message).toBe('string');
  }
}

describe.each(inspectionCheckNames)('%s on garbage', (name) => {
  const w = sampleWith[name] ?? {};

  it.each(Object.keys(garbage))('answers unknown with a reason for %s output', (kind) => {
    const findings = runCheck(name, w, garbage[kind] ?? '', 'h1');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ host: 'h1', check: name, status: 'unknown', value: null });
    expect(findings[0]?.message.length).toBeGreaterThan(10);
  });

  it('never throws on any truncation of any real output, and gives well-formed findings', () => {
    let unknowns = 0;
    for (const output of realOutputs) {
      // Cut every output at a few places, including mid-line and mid-marker.
      for (const cut of [
        1,
        7,
        Math.floor(output.length / 3),
        Math.floor(output.length / 2),
        output.length - 1,
      ]) {
        const findings = runCheck(name, w, output.slice(0, Math.max(0, cut)), 'h1');
        expectWellFormed(findings);
        unknowns += findings.filter((f) => f.status === 'unknown').length;
      }
    }
    expect(unknowns).toBeGreaterThan(0);
  });

  it('never throws on another check output, and gives well-formed findings', () => {
    for (const output of realOutputs) expectWellFormed(runCheck(name, w, output, 'h1'));
  });
});
