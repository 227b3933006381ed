import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectionCheckNames, inspectionChecks, runCheck } from './index.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'opsbook-inspection-safety-'));
const canary = path.join(dir, 'pwned');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ways to leave a quoted word in sh; each would create the canary if quoting failed. */
const payloads = [
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  `'; touch ${canary}; '`,
  `"; touch ${canary}; "`,
  `x\ntouch ${canary}\n`,
  `'$(touch ${canary})'`,
  `\\'; touch ${canary} #`,
  `-e; touch ${canary}`,
  `a|touch ${canary}`,
];

/** Every string param of every check, with the other params it needs. */
const targets: [string, object, string][] = [
  ['inspection.unit-active', {}, 'unit'],
  ['inspection.endpoint', { timeout_s: 1 }, 'url'],
  ['inspection.endpoint', { port: 9, timeout_s: 1 }, 'host'],
  ['inspection.tls-cert', { port: 9, timeout_s: 1 }, 'host'],
  ['inspection.tls-cert', { host: '127.0.0.1', port: 9, timeout_s: 1 }, 'servername'],
  ['inspection.tls-cert', {}, 'file'],
  ['inspection.log-errors', {}, 'file'],
  ['inspection.log-errors', { file: '/etc/hostname' }, 'pattern'],
  ['inspection.log-errors', {}, 'unit'],
  ['inspection.backup-age', {}, 'path'],
  ['inspection.backup-age', { path: dir }, 'name'],
];

describe('collectors against shell injection (run by a real sh)', () => {
  it('would notice an injection: the payload does create the canary when left unquoted', async () => {
    await run('/bin/sh', ['-c', `echo ${payloads[0]}`], { cwd: dir });
    expect(existsSync(canary)).toBe(true);
    rmSync(canary);
  });

  it.each(targets)(
    '%s %j keeps hostile values of %s inside one shell word',
    async (name, base, field) => {
      const check = inspectionChecks[name as keyof typeof inspectionChecks];
      for (const payload of payloads) {
        // collect() is called directly, past the schema, to test the quoting itself.
        const script = check.collect({
          ...base,
          [field]: field === 'url' ? `http://${payload}` : payload,
        } as never);
        await run('/bin/sh', ['-c', script], { cwd: dir, timeout: 60_000 }).catch(() => undefined);
        expect(existsSync(canary), `${name} ${field} ${JSON.stringify(payload)}`).toBe(false);
      }
    },
  );

  it('refuses hostile values already at the schema: newlines in paths, shell words in unit and host names', () => {
    expect(() => runCheck('backup-age', { path: `/x\n$(touch ${canary})` }, '', 'h')).toThrow(
      /pattern|match/,
    );
    expect(() => runCheck('unit-active', { unit: `nginx; touch ${canary}` }, '', 'h')).toThrow();
    expect(() => runCheck('endpoint', { host: '$(id)', port: 80 }, '', 'h')).toThrow();
    expect(() => runCheck('endpoint', { url: 'file:///etc/shadow' }, '', 'h')).toThrow();
  });
});

describe('collectors only read', () => {
  const sampleWith: Record<string, object> = {
    'inspection.unit-active': { unit: 'nginx' },
    'inspection.process': { name: 'nginx' },
    'inspection.port-listening': { port: 22 },
    'inspection.endpoint': { url: 'http://127.0.0.1/' },
    'inspection.tls-cert': { host: 'example.org' },
    'inspection.log-errors': { file: '/var/log/syslog' },
    'inspection.backup-age': { path: '/backup' },
  };
  const scripts = [
    ...inspectionCheckNames.map(
      (n) => [n, inspectionChecks[n].collect((sampleWith[n] ?? {}) as never)] as const,
    ),
    [
      'inspection.endpoint tcp',
      inspectionChecks['inspection.endpoint'].collect({ host: 'db', port: 5432 }),
    ] as const,
    [
      'inspection.tls-cert file',
      inspectionChecks['inspection.tls-cert'].collect({ file: '/etc/ssl/a.pem' }),
    ] as const,
    [
      'inspection.log-errors unit',
      inspectionChecks['inspection.log-errors'].collect({ unit: 'nginx' }),
    ] as const,
  ];

  it.each(scripts)('%s redirects output nowhere but /dev/null', (_name, script) => {
    const rest = script
      .replace(/[12]?>\/dev\/null/g, '')
      .replace(/2>&1/g, '')
      .replace(/3<>"\/dev\/tcp\/\$1\/\$2"/g, '');
    expect(rest).not.toMatch(/>/);
  });

  it.each(scripts)('%s runs no command that changes the host', (_name, script) => {
    // File names such as /var/run/reboot-required are read, not run: leave paths out.
    const words = script.replace(/\/[\w./-]+/g, '');
    expect(words).not.toMatch(
      /\b(rm|mv|cp|tee|dd|touch|truncate|chmod|chown|mkdir|kill|reboot|shutdown|install|remove|makecache)\b/,
    );
    expect(script).not.toMatch(/\bsudo\b/);
    expect(script).toMatch(/\nexit 0$/);
  });
});
