import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HealthReport } from '@opsbook/health-report';
import { filesStore } from '@opsbook/state';
import { type Chromium, launchChromium } from '@opsbook/testkit/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRun, type JournaledFinding } from './inspection-history.js';
import { runCli, stackTrace, userEnv } from './run-cli.js';

/*
 * opsbook report as an ops lead reads it, through the built binary (issue #17 item 14): which
 * hosts it covers (the inventory, --limit, --host/--group, --all-hosts, and what it leaves out),
 * a headline that is urgent when one database disk is full in 7 days although the average score
 * is high, charts of disk, memory and load with the predicted crossing (in real Chromium), and
 * headroom predictions only from meaningful fits, with the reason otherwise.
 *
 * Ten daily inspections, 2025-03-01 … 03-10:
 *   db-1   /var/lib/postgresql 68 → 86 % (+2 pp/day, warn at 80): full in 7 days; memory noisy
 *   db-2   / flat at 40 %; memory falling 70 → 52 %
 *   web-1, web-2  steady; web-3 joined on day 8 (three points)
 *   ci-test-1, ci-test-2  a test run on day 2, not in the inventory; ci-test-1's disk is crit
 *   db-3   in the inventory, never inspected
 */

let root: string;
let fleet: string;
let bare: string;

const inventory = [
  'all:',
  '  children:',
  '    web: {hosts: {web-1: {ansible_host: 127.0.0.2}, web-2: {ansible_host: 127.0.0.3}, web-3: {ansible_host: 127.0.0.4}}}',
  '    db: {hosts: {db-1: {ansible_host: 127.0.0.5}, db-2: {ansible_host: 127.0.0.6}, db-3: {ansible_host: 127.0.0.7}}}',
  '',
].join('\n');
const webOnly = 'web-1 ansible_host=127.0.0.2\nweb-2 ansible_host=127.0.0.3\n';

type Finding = JournaledFinding;
const grade = (v: number, warn: number, crit: number) =>
  v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok';
const disk = (host: string, mount: string, pct: number): Finding => ({
  host,
  check: 'inspection.disk',
  subject: mount,
  status: grade(pct, 80, 90),
  value: pct,
  threshold: 80,
  unit: '%',
  message: `${mount} is ${pct}% full`,
});
const memory = (host: string, pct: number): Finding => ({
  host,
  check: 'inspection.memory',
  subject: 'memory',
  status: grade(pct, 85, 95),
  value: pct,
  threshold: 85,
  unit: '%',
  message: `memory ${pct}% in use`,
});
const load = (host: string, perCore: number): Finding => ({
  host,
  check: 'inspection.load',
  subject: 'load5',
  status: grade(perCore, 1.5, 2),
  value: perCore,
  threshold: 1.5,
  unit: 'per-core',
  message: `5-minute load ${perCore} per core`,
});

const NOISY = [30, 70, 35, 65, 32, 68, 30, 66, 34, 60];

/** The findings of day d (1–10), host by host. */
function fleetDay(d: number): Record<string, Finding[]> {
  const day: Record<string, Finding[]> = {
    'db-1': [
      disk('db-1', '/var/lib/postgresql', 66 + 2 * d),
      memory('db-1', NOISY[d - 1]!),
      load('db-1', 0.4),
    ],
    'db-2': [disk('db-2', '/', 40), memory('db-2', 72 - 2 * d), load('db-2', 0.2)],
    'web-1': [disk('web-1', '/', 30), memory('web-1', 40), load('web-1', 0.3)],
    'web-2': [disk('web-2', '/', 35), memory('web-2', 45), load('web-2', 0.3 + d / 20)],
  };
  if (d >= 8) day['web-3'] = [disk('web-3', '/', 20 + d), memory('web-3', 30), load('web-3', 0.1)];
  return day;
}

async function workingCopy(name: string, config: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\n${config}`,
  );
  await writeFile(path.join(dir, 'inventory.yaml'), inventory);
  await writeFile(path.join(dir, 'web-only.ini'), webOnly);
  const store = filesStore(path.join(dir, '.opsbook'));
  for (let d = 1; d <= 10; d++) {
    const day = `2025-03-${String(d).padStart(2, '0')}`;
    await inspectRun(
      store,
      `${day.replaceAll('-', '')}-060000-daily`,
      `${day}T06:00:00Z`,
      fleetDay(d),
    );
  }
  await inspectRun(store, '20250302-120000-ci', '2025-03-02T12:00:00Z', {
    'ci-test-1': [disk('ci-test-1', '/', 99), memory('ci-test-1', 20)],
    'ci-test-2': [disk('ci-test-2', '/', 10)],
  });
  await store.close();
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-report-fleet-'));
  fleet = await workingCopy('fleet', 'inventory: inventory.yaml\n');
  bare = await workingCopy('bare', '');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const range = ['--since', '2025-03-01', '--until', '2025-03-10'];

function report(dir: string, args: string[]) {
  return runCli(['report', ...range, ...args], {
    cwd: dir,
    env: userEnv({ OPSBOOK_DATABASE_URL: '' }),
  });
}

async function reportJson(dir: string, args: string[] = []): Promise<HealthReport> {
  const r = await report(dir, ['--format', 'json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

const hostsOf = (json: HealthReport) => json.hosts.map((h) => h.host);
const headroomOf = (json: HealthReport, host: string, resource: string) =>
  json.headroom.find((h) => h.host === host && h.resource === resource)!;

describe('opsbook report: which hosts', () => {
  it("covers the hosts of opsbook.yaml's inventory, and says which others it left out", async () => {
    const json = await reportJson(fleet);
    expect(hostsOf(json)).toEqual(['db-1', 'db-2', 'web-1', 'web-2', 'web-3']);
    expect(json.scope).toEqual({
      selection: 'inventory inventory.yaml',
      leftOut: ['ci-test-1', 'ci-test-2'],
      noRuns: ['db-3'],
    });
    expect(json.notes).toContain(
      '2 hosts with results in this range are left out, not being in inventory inventory.yaml: ci-test-1, ci-test-2.',
    );
    expect(json.notes).toContain(
      '1 host of inventory inventory.yaml was in no run in this range, so it is not scored: db-3.',
    );
    // ci-test-1's crit disk is not this fleet's: nothing crit in the findings.
    expect(json.environment.counts.crit).toBe(0);
    const md = await report(fleet, ['--format', 'md']);
    expect(md.stdout).toContain(
      '> 2 hosts with results in this range are left out, not being in inventory inventory.yaml: ci-test-1, ci-test-2.',
    );
  });

  it('takes another inventory with -i, and every host in the history with --all-hosts', async () => {
    const web = await reportJson(fleet, ['-i', 'web-only.ini']);
    expect(hostsOf(web)).toEqual(['web-1', 'web-2']);
    expect(web.scope.selection).toBe('inventory web-only.ini');
    expect(web.scope.leftOut).toEqual(['ci-test-1', 'ci-test-2', 'db-1', 'db-2', 'web-3']);
    const all = await reportJson(fleet, ['--all-hosts']);
    expect(hostsOf(all)).toEqual([
      'ci-test-1',
      'ci-test-2',
      'db-1',
      'db-2',
      'web-1',
      'web-2',
      'web-3',
    ]);
    expect(all.scope).toEqual({ selection: null, leftOut: [], noRuns: [] });
    // The groups still come from the inventory; the test hosts have none.
    expect(all.hosts.find((h) => h.host === 'ci-test-1')?.groups).toEqual([]);
    expect(all.hosts.find((h) => h.host === 'db-1')?.groups).toEqual(['db']);
    // Without an inventory anywhere, every host in the history, as before.
    expect(hostsOf(await reportJson(bare))).toEqual(hostsOf(all));
  });

  it('narrows to an Ansible pattern with --limit, then to --host and --group', async () => {
    expect(hostsOf(await reportJson(fleet, ['--limit', 'db']))).toEqual(['db-1', 'db-2']);
    expect(hostsOf(await reportJson(fleet, ['--limit', 'web:!web-3']))).toEqual(['web-1', 'web-2']);
    expect(hostsOf(await reportJson(fleet, ['--limit', 'all:!db-1', '--group', 'db']))).toEqual([
      'db-2',
    ]);
    const limited = await reportJson(fleet, ['--limit', 'db', '--host', 'db-2']);
    expect(hostsOf(limited)).toEqual(['db-2']);
    expect(limited.scope.selection).toBe('inventory inventory.yaml --limit db --host db-2');
    expect(limited.scope.leftOut).toEqual([
      'ci-test-1',
      'ci-test-2',
      'db-1',
      'web-1',
      'web-2',
      'web-3',
    ]);
    expect(hostsOf(await reportJson(fleet, ['--host', 'web-1', '--group', 'db']))).toEqual([
      'db-1',
      'db-2',
      'web-1',
    ]);
    expect(hostsOf(await reportJson(fleet, ['--all-hosts', '--host', 'ci-test-2']))).toEqual([
      'ci-test-2',
    ]);
  });

  it.each([
    [
      ['--host', 'ci-test-1'],
      'fleet',
      /--host ci-test-1: not in inventory inventory\.yaml; to report hosts outside it add --all-hosts/,
    ],
    [
      ['--limit', 'db', '--host', 'web-1'],
      'fleet',
      /no host of --host web-1 is among the hosts of inventory inventory\.yaml --limit db/,
    ],
    [['--limit', 'dbs'], 'fleet', /'dbs' matches no group or host \(did you mean 'db'\?\)/],
    [['--limit', 'db', '--all-hosts'], 'fleet', /give one of them/],
    [
      ['--limit', 'db'],
      'bare',
      /--limit needs an inventory: give -i FILE, or set inventory in opsbook\.yaml/,
    ],
    [['-i', 'missing.yaml'], 'fleet', /missing\.yaml/],
    [
      ['--urgent-days', '0'],
      'fleet',
      /--urgent-days "0" is not a whole number of days from 1 to 366/,
    ],
    [['--urgent-days', 'soon'], 'fleet', /--urgent-days "soon"/],
  ] as const)(
    'refuses %j (%s working copy) with exit 2 and no stack trace',
    async (args, copy, message) => {
      const r = await report(copy === 'fleet' ? fleet : bare, ['--format', 'json', ...args]);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.stdout).toBe('');
    },
  );
});

describe('opsbook report: the headline', () => {
  it('is urgent when a disk is full in 7 days although the average score is high (JSON)', async () => {
    const json = await reportJson(fleet);
    expect(json.environment.score).toBeGreaterThan(90);
    expect(json.headline).toEqual({
      status: 'urgent',
      text: `URGENT: db-1 filesystem /var/lib/postgresql full in 7 days. The average score ${json.environment.score}/100 does not show this.`,
      urgentDays: 14,
      urgent: [
        {
          host: 'db-1',
          reason: 'full-soon',
          what: 'filesystem /var/lib/postgresql',
          days: 7,
          message: '86% used, +2 pp/day (R² 1): full on ~2025-03-17',
        },
      ],
    });
  });

  it('leads the Markdown and the HTML notes with it', async () => {
    const md = (await report(fleet, ['--format', 'md'])).stdout.split('\n');
    expect(md[2]).toMatch(
      /^\*\*URGENT: db-1 filesystem \/var\/lib\/postgresql full in 7 days\. The average score 9\d(\.\d)?\/100 does not show this\.\*\*$/,
    );
    expect(md).toContain('### Urgent (1): crit now, or full within 14 days');
    expect(md).toContain(
      // Host-controlled text is escaped, so a mount name cannot format the ticket comment.
      '- `db-1` filesystem /var/lib/postgresql — full in 7 days: 86% used, \\+2 pp/day \\(R² 1\\): full on \\~2025-03-17',
    );
    const out = path.join(root, 'headline.html');
    const html = await report(fleet, ['-o', out]);
    expect(html.code).toBe(0);
    expect(html.stderr.split('\n')[0]).toMatch(
      /^URGENT: db-1 filesystem \/var\/lib\/postgresql full in 7 days\./,
    );
    expect(html.stdout.trim()).toBe(out);
  });

  it('names a crit finding as urgent whatever the score', async () => {
    const json = await reportJson(fleet, ['--all-hosts']);
    expect(json.headline.status).toBe('urgent');
    expect(json.headline.urgent.map((u) => `${u.host} ${u.reason}`)).toEqual([
      'ci-test-1 crit',
      'db-1 full-soon',
    ]);
    expect(json.headline.text).toMatch(
      /^URGENT: ci-test-1 inspection\.disk \/ is critical: \/ is 99% full; db-1 filesystem/,
    );
  });

  it('is not urgent when the disk is full later than --urgent-days, nor without db-1', async () => {
    const week = await reportJson(fleet, ['--urgent-days', '7']);
    expect(week.headline).toMatchObject({
      status: 'healthy',
      urgentDays: 7,
      urgent: [],
      text: `Healthy: score ${week.environment.score}/100, nothing critical, nothing full within 7 days.`,
    });
    const md = (await report(fleet, ['--format', 'md', '--urgent-days', '7'])).stdout;
    expect(md.split('\n')[2]).toBe(
      `**Healthy: score ${week.environment.score}/100, nothing critical, nothing full within 7 days.**`,
    );
    expect((await reportJson(fleet, ['--limit', 'web'])).headline.status).toBe('healthy');
  });
});

describe('opsbook report: headroom only from meaningful fits', () => {
  it('projects the steady growth, and says why not for the others (JSON)', async () => {
    const json = await reportJson(fleet);
    expect(json.fitRule).toEqual({ minPoints: 5, minSpanDays: 7, minR2: 0.5 });
    expect(headroomOf(json, 'db-1', 'filesystem /var/lib/postgresql')).toMatchObject({
      status: 'projected',
      points: 10,
      growthPerDay: 2,
      r2: 1,
      daysUntilFull: 7,
      fullOn: '2025-03-17',
      reason: null,
    });
    expect(headroomOf(json, 'web-3', 'filesystem /')).toMatchObject({
      status: 'not-enough-data',
      daysUntilFull: null,
      reason: 'too few points (3 < 5)',
    });
    const noisy = headroomOf(json, 'db-1', 'memory');
    expect(noisy).toMatchObject({ status: 'no-trend', daysUntilFull: null });
    expect(noisy.reason).toMatch(/^no trend \(R² 0\.\d+ < 0\.5\)$/);
    expect(headroomOf(json, 'db-2', 'memory')).toMatchObject({
      status: 'not-growing',
      reason: 'usage falling (-2 pp/day)',
    });
    expect(headroomOf(json, 'db-2', 'filesystem /')).toMatchObject({
      status: 'not-growing',
      reason: 'usage flat',
    });
    expect(json.headroom.filter((h) => h.status === 'projected')).toHaveLength(1);
  });

  it('says why not in the Markdown', async () => {
    const md = (await report(fleet, ['--format', 'md'])).stdout;
    expect(md).toContain(
      '| `db-1` | filesystem /var/lib/postgresql | 86% | +2 pp | 1 | 7 d (~2025-03-17) |',
    );
    expect(md).toMatch(
      /Not projected \(9: 2 too little data, 1 no trend, 6 flat or falling\); a projection needs at least 5 daily points over 7 days, R² at least 0\.5, and growth\. Fullest first:/,
    );
    expect(md).toMatch(/- `db-1` memory 60%: no trend \\\(R² 0\.\d+ \\< 0\.5\\\)/);
    expect(md).toContain('- `db-2` memory 52%: usage falling \\(-2 pp/day\\)');
  });
});

describe('opsbook report: the HTML in Chromium', () => {
  let chromium: Chromium;
  let htmlFile: string;
  const requests: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    htmlFile = path.join(root, 'fleet.html');
    const r = await report(fleet, ['-o', htmlFile]);
    expect(r.code).toBe(0);
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.dispose();
  });

  it('shows the urgent headline, and charts the urgent host first with its predicted crossing', async () => {
    const page = await chromium.newPage();
    page.on('request', (q) => requests.push(q.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);

    expect(await page.getAttribute('#headline', 'data-status')).toBe('urgent');
    expect(await page.textContent('#headline .headline-text')).toMatch(
      /^URGENT: db-1 filesystem \/var\/lib\/postgresql full in 7 days\./,
    );
    // The average score is not painted green beside an urgent item.
    expect(await page.$$eval('.card .value.s-ok', (els) => els.length)).toBe(0);

    // Charted: db-1 (urgent), then the lowest scores below 100; every host that scores 100 is not.
    const charted = await page.$$eval('#resource-charts figure', (fs) =>
      fs.map((f) => [f.getAttribute('data-host'), f.querySelector('figcaption')?.textContent]),
    );
    expect(charted[0]).toEqual(['db-1', 'db-1 · filesystem /var/lib/postgresql full in 7 days']);
    expect(await page.textContent('#charts-rule')).toMatch(
      /^Showing \d+ of 5 hosts with disk, memory or load values: the 1 urgent host, most urgent first/,
    );
    const db1 = page.locator('figure[data-host="db-1"]');
    expect(await db1.locator('svg.usage').count()).toBe(3);
    const projection = db1.locator('g.projection[data-resource="filesystem /var/lib/postgresql"]');
    expect(await projection.getAttribute('data-full-on')).toBe('2025-03-17');
    expect(await projection.getAttribute('data-reaches')).toBe('true');
    // The dashed line ends where the crossing is marked, right of the last measured point, at the
    // top of the plot (100 %); the chart shows the crossing day.
    const geometry = await db1.evaluate((fig) => {
      const svg = fig.querySelector('svg.usage')!;
      const line = svg.querySelector('g.projection line')!;
      const dot = svg.querySelector('circle.crossing')!;
      const full = svg.querySelector('line.full')!;
      const pts = svg
        .querySelector('g.series polyline')!
        .getAttribute('points')!
        .split(' ')
        .map((p: string) => p.split(',').map(Number));
      return {
        lineEnd: [Number(line.getAttribute('x2')), Number(line.getAttribute('y2'))],
        dot: [Number(dot.getAttribute('cx')), Number(dot.getAttribute('cy'))],
        fullY: Number(full.getAttribute('y1')),
        lastPoint: pts.at(-1)!,
        points: pts.length,
        text: svg.textContent,
        box: svg.getBoundingClientRect().width,
      };
    });
    expect(geometry.points).toBe(10);
    expect(geometry.lineEnd).toEqual(geometry.dot);
    expect(geometry.dot[1]).toBe(geometry.fullY);
    expect(geometry.dot[0]).toBeGreaterThan(geometry.lastPoint[0]!);
    expect(geometry.text).toContain('full ~03-17');
    expect(geometry.box).toBeGreaterThan(200);
    expect(
      await db1.locator('li[data-resource="filesystem /var/lib/postgresql"]').textContent(),
    ).toContain('full in 7 days (~2025-03-17), +2 pp/day, R² 1');
    expect(await db1.locator('li[data-resource="memory"]').textContent()).toMatch(
      /no projection: no trend \(R² 0\.\d+ < 0\.5\)/,
    );
    await mkdir(path.resolve(import.meta.dirname, '..', 'test-results'), { recursive: true });
    await page.screenshot({
      path: path.resolve(import.meta.dirname, '..', 'test-results', 'report-fleet.png'),
      fullPage: true,
    });
    await page.close();
  });

  it('lists each headroom series without a projection, and why', async () => {
    const html = await readFile(htmlFile, 'utf8');
    expect(html).toContain('Not projected (9: 2 too little data, 1 no trend, 6 flat or falling)');
    expect(html).toMatch(
      /<td>web-3<\/td><td>filesystem \/<\/td><td>30%<\/td><td>3<\/td><td>too few points \(3 &lt; 5\)<\/td>/,
    );
    expect(html).toContain('<td>usage falling (-2 pp/day)</td>');
  });
});
