import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ActionSpec, loadRunbook, type RunbookBundle } from '@opsbook/schema';
import { type Chromium, launchChromium } from '@opsbook/testkit/chromium';
import { makeTempDir } from '@opsbook/testkit/temp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCatalog,
  type Catalog,
  type CatalogHistory,
  type CatalogRunFact,
  renderCatalogHtml,
  renderCatalogMarkdown,
} from '../src/index.js';

/*
 * The catalog page (issue #20 item 5) in real headless Chromium, opened from file://: it loads
 * with no console error and no request besides itself, the search box filters the runbooks as
 * the reader types, a runbook's details show its params, steps and versions with the approvals
 * and runs that used them, a composed runbook is a link that opens the runbook it runs, and a
 * description holding <script> is shown as text and never runs. The Markdown is checked beside.
 */

const ARTIFACTS = path.resolve(import.meta.dirname, '..', 'test-results');
const XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

/** The runner's built-in action this fixture uses, as its registry describes it to the loader. */
const actions = new Map<string, ActionSpec>([
  [
    'inspection.disk',
    { name: 'inspection.disk', description: 'disk usage', withSchema: { type: 'object' } },
  ],
]);

const runbooks: Record<string, { yaml: string; version: string; changelog?: string }> = {
  'pg-vacuum': {
    version: '1.1.0',
    yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: pg-vacuum
  title: Vacuum and analyze a PostgreSQL database
  description: |
    Reclaims space after mass deletes. ${XSS}
    Safe during business hours.
  category: incident
  grade: P3
  owners: [dba-team]
  tags: [postgres]
spec:
  params:
    database: {type: string, required: true, pattern: "^[a-z_]+$", description: Database to vacuum}
    full: {type: boolean, default: false, description: VACUUM FULL (locks the tables)}
    password: {type: string, secret: true, description: Password of the vacuum role}
  targets: {default: "db:&prod", concurrency: 1, maxFailures: 0}
  prechecks:
    - id: reachable
      name: The database answers
      run: pg_isready -d {{ params.database }}
  steps:
    - id: vacuum
      name: Vacuum and analyze
      script: scripts/vacuum.sh
      timeout: 30m
  postchecks:
    - id: size
      name: Report the database size
      run: psql -At -c 'select 1' {{ params.database }}
`,
    changelog: `# @runbooks/pg-vacuum

## 1.1.0

### Minor Changes

- 1a2b3c4: VACUUM FULL behind the full param ${XSS}

## 1.0.0

### Major Changes

- First version
`,
  },
  'disk-report': {
    version: '0.2.0',
    yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: disk-report
  title: Disk usage of every host
  description: Read-only.
  category: routine
  grade: P4
spec:
  steps:
    - id: disks
      name: Disk usage
      uses: inspection.disk
      with: {warn: 80, crit: 90}
`,
  },
  'nightly-maintenance': {
    version: '2.0.0',
    yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: nightly-maintenance
  title: Nightly database maintenance
  description: Runs the maintenance runbooks in order.
  category: incident
  grade: P3
spec:
  steps:
    - id: vacuum-all
      name: Vacuum the app database
      uses: runbook:pg-vacuum@^1.0.0
      with: {database: app}
`,
  },
};

/** Runs of pg-vacuum: two under one approval at 1.0.0, one at 1.1.0 (run ids sort by time). */
function history(): CatalogHistory {
  const run = (
    runId: string,
    version: string,
    approval: string,
    ticket: string,
    status: CatalogRunFact['status'],
  ): CatalogRunFact => ({
    runId,
    runbook: 'pg-vacuum',
    version,
    status,
    ticket,
    startedAt: `${runId.slice(0, 4)}-${runId.slice(4, 6)}-${runId.slice(6, 8)}T0${runId.slice(9, 10)}:00:00.000Z`,
    endedAt: null,
    hosts: 2,
    digest: `sha256:${version.replace(/\./g, '').padEnd(64, '0')}`,
    approval: { id: approval, signers: ['alice', 'bob'], maxRuns: 3 },
    executor: 'carol',
  });
  return {
    store: { kind: 'files', location: '/srv/ops/.opsbook' },
    runs: [
      run('20250301-3-cccccc', '1.1.0', 'apr-new', 'OPS-31', 'ok'),
      run('20250201-2-bbbbbb', '1.0.0', 'apr-old', 'OPS-20', 'failed'),
      run('20250101-1-aaaaaa', '1.0.0', 'apr-old', 'OPS-20', 'ok'),
    ],
    leftOut: [{ runId: '20250102-1-dddddd', reason: 'its journal does not verify (line 3)' }],
  };
}

let temp: { dir: string; remove: () => Promise<void> };
let chromium: Chromium;
let page: Page;
let catalog: Catalog;
let htmlFile: string;
const requests: string[] = [];
const consoleErrors: string[] = [];
const dialogs: string[] = [];

async function loadAll(root: string): Promise<RunbookBundle[]> {
  const bundles: RunbookBundle[] = [];
  for (const [name, r] of Object.entries(runbooks)) {
    const dir = path.join(root, 'runbooks', name);
    await mkdir(path.join(dir, 'scripts'), { recursive: true });
    await writeFile(path.join(dir, 'runbook.yaml'), r.yaml);
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: `@runbooks/${name}`, version: r.version, private: true }),
    );
    await writeFile(path.join(dir, 'scripts', 'vacuum.sh'), 'vacuumdb --analyze "$1"\n');
    const loaded = await loadRunbook(dir, { actions });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    bundles.push(loaded.bundle);
  }
  return bundles;
}

beforeAll(async () => {
  temp = await makeTempDir('opsbook-catalog-html-');
  const bundles = await loadAll(temp.dir);
  catalog = buildCatalog(
    bundles.map((bundle) => ({
      bundle,
      digest: `sha256:${'d'.repeat(64)}`,
      changelog:
        bundle.name === 'pg-vacuum'
          ? [
              { version: '1.1.0', changes: [`VACUUM FULL behind the full param ${XSS}`] },
              { version: '1.0.0', changes: ['First version'] },
            ]
          : [],
    })),
    history(),
    {
      now: new Date('2025-03-02T12:00:00Z'),
      broken: [{ name: 'half-done', problems: ['runbooks/half-done/runbook.yaml:3:1: …'] }],
    },
  );
  htmlFile = path.join(temp.dir, 'index.html');
  await writeFile(htmlFile, renderCatalogHtml(catalog));
  chromium = await launchChromium();
  page = await chromium.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
});

afterAll(async () => {
  await chromium?.dispose();
  await temp?.remove();
});

const visible = () =>
  page.$$eval('article.runbook', (all) =>
    all.filter((a) => !(a as HTMLElement).hidden).map((a) => a.id.replace(/^runbook-/, '')),
  );

describe('the catalog page in headless Chromium', () => {
  it('loads from file:// with no console error and no request besides the file itself', async () => {
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(htmlFile).href]);
    expect(await visible()).toEqual(['disk-report', 'nightly-maintenance', 'pg-vacuum']);
    expect(await page.textContent('#count')).toBe('3 runbooks');
  });

  it('filters the runbooks as the reader types: every word must match', async () => {
    await page.fill('#search', 'postgres');
    expect(await visible()).toEqual(['pg-vacuum']);
    expect(await page.textContent('#count')).toBe('1 of 3 runbooks match');
    // A step's command and a composed runbook's name are searched too.
    await page.fill('#search', 'VACUUM');
    expect(await visible()).toEqual(['nightly-maintenance', 'pg-vacuum']);
    await page.fill('#search', 'vacuum app');
    expect(await visible()).toEqual(['nightly-maintenance']);
    await page.fill('#search', 'inspection.disk');
    expect(await visible()).toEqual(['disk-report']);
    await page.fill('#search', 'no such runbook');
    expect(await visible()).toEqual([]);
    expect(await page.isVisible('#no-match')).toBe(true);
    await page.fill('#search', '');
    expect(await visible()).toHaveLength(3);
    expect(await page.isVisible('#no-match')).toBe(false);
  });

  it("shows a runbook's params, steps and versions when its summary is clicked", async () => {
    const details = '#runbook-pg-vacuum details';
    expect(await page.isVisible(`${details} table.params`)).toBe(false);
    await page.click(`${details} > summary`);
    expect(await page.isVisible(`${details} table.params`)).toBe(true);
    const params = await page.$$eval(`${details} table.params tbody tr`, (rows) =>
      rows.map((r) => Array.from((r as HTMLTableRowElement).cells, (c) => c.textContent ?? '')),
    );
    expect(params).toEqual([
      ['database', 'string', 'required', '', 'Database to vacuum (pattern ^[a-z_]+$)'],
      ['full', 'boolean', 'false', '', 'VACUUM FULL (locks the tables)'],
      ['password', 'string', 'from the environment', 'secret', 'Password of the vacuum role'],
    ]);
    const steps = await page.$$eval(`${details} ol.steps > li`, (items) =>
      // biome-ignore lint/performance/useDomNodeTextContent: the text as the reader sees it, lines apart
      items.map((li) => (li as HTMLElement).innerText.replace(/\s+/g, ' ').trim()),
    );
    expect(steps).toEqual([
      'reachable — The database answers pg_isready -d {{ params.database }}',
      'vacuum — Vacuum and analyze [timeout 30m] script: scripts/vacuum.sh',
      "size — Report the database size psql -At -c 'select 1' {{ params.database }}",
    ]);
    const versions = await page.$$eval(`${details} section.version`, (sections) =>
      sections.map((s) => ({
        heading: s.querySelector('h4')?.textContent,
        approvals: Array.from(s.querySelectorAll('table.approvals tbody tr'), (r) =>
          (r.textContent ?? '').trim(),
        ),
        runs: Array.from(
          s.querySelectorAll('table.runs tbody tr td:first-child'),
          (c) => c.textContent,
        ),
      })),
    );
    expect(versions).toEqual([
      {
        heading: '1.1.0 (current)',
        approvals: ['apr-newOPS-31alice, bob1 of 3'],
        runs: ['20250301-3-cccccc'],
      },
      {
        heading: '1.0.0',
        approvals: ['apr-oldOPS-20alice, bob2 of 3'],
        runs: ['20250201-2-bbbbbb', '20250101-1-aaaaaa'],
      },
    ]);
  });

  it('shows runbook and changelog text as text: an injected script never runs', async () => {
    expect(dialogs).toEqual([]);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.$$('img')).toEqual([]);
    expect(await page.evaluate(() => document.scripts.length)).toBe(1);
    const description = await page.textContent('#runbook-pg-vacuum .description');
    expect(description).toContain(XSS);
    const changes = await page.textContent('#runbook-pg-vacuum section.version.current ul');
    expect(changes).toContain(XSS);
  });

  it('links a composed runbook to the runbook it runs, and opens it even when the search hid it', async () => {
    await page.fill('#search', 'nightly');
    expect(await visible()).toEqual(['nightly-maintenance']);
    await page.click('#runbook-nightly-maintenance details > summary');
    const step = await page.textContent('#runbook-nightly-maintenance ol.steps > li');
    expect(step?.replace(/\s+/g, ' ')).toContain('runs runbook pg-vacuum @^1.0.0');
    await page.evaluate(() => {
      (document.querySelector('#runbook-pg-vacuum details') as HTMLDetailsElement).open = false;
    });
    await page.click('#runbook-nightly-maintenance ol.steps a[href="#runbook-pg-vacuum"]');
    await page.waitForFunction(() => location.hash === '#runbook-pg-vacuum');
    // The page answers the link on `hashchange`, an event that comes after the hash changed:
    // wait for its effect (the linked runbook shown and opened), not only for the new hash.
    await page.waitForFunction(() => {
      const target = document.getElementById('runbook-pg-vacuum');
      return target !== null && !target.hidden && target.querySelector('details')?.open === true;
    });
    expect(await visible()).toHaveLength(3);
    expect(
      await page.$eval('#runbook-pg-vacuum details', (d) => (d as HTMLDetailsElement).open),
    ).toBe(true);
    expect(await page.textContent('#runbook-pg-vacuum')).toContain('Used by');
    expect(consoleErrors).toEqual([]);
  });

  it('names what is missing from the catalog, and saves a screenshot as a test artifact', async () => {
    const notes = await page.textContent('.notes');
    expect(notes).toContain('half-done does not load');
    expect(notes).toContain('Run 20250102-1-dddddd is left out: its journal does not verify');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'catalog.png'), fullPage: true });
  });
});

describe('the Markdown catalog', () => {
  it('holds the same runbooks, with every text escaped and commands fenced', () => {
    const md = renderCatalogMarkdown(catalog);
    expect(md).toContain('| [pg-vacuum](#pg-vacuum) | 1.1.0 | incident | P3 |');
    expect(md).toContain('## pg-vacuum');
    expect(md).not.toMatch(/(?<!\\)<(?:script|img)/);
    expect(md).toContain('\\<script\\>window.\\_\\_pwned=1\\</script\\>');
    expect(md).toContain('   ```sh\n   pg_isready -d {{ params.database }}\n   ```');
    expect(md).toContain('| `password` | string | from the environment | yes |');
    expect(md).toContain('runs runbook [pg-vacuum](#pg-vacuum) `@^1.0.0`');
    expect(md).toContain('| `apr-old` | OPS-20 | alice, bob | 2 of 3 |');
    expect(md).toContain('#### 1.1.0 (current)\n\n- VACUUM FULL behind the full param');
  });
});
