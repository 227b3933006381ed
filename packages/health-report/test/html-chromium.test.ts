import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Chromium, launchChromium } from '@opsbook/testkit/chromium';
import { makeTempDir } from '@opsbook/testkit/temp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHealthReport, type HealthReport, renderHtml } from '../src/index.js';
import { fleetGroups, fleetRuns } from './fleet-history.js';
import { writeRuns } from './journal-fixture.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '..', 'test-results');
const now = new Date('2025-03-15T00:00:00Z');

let temp: { dir: string; remove: () => Promise<void> };
let chromium: Chromium;
let page: Page;
let report: HealthReport;
let htmlFile: string;
const requests: string[] = [];
const consoleErrors: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  temp = await makeTempDir('opsbook-health-html-');
  const stateDir = path.join(temp.dir, 'state');
  await writeRuns(stateDir, fleetRuns());
  report = await buildHealthReport({
    stateDir,
    since: new Date('2025-02-13T00:00:00Z'),
    now,
    inventory: fleetGroups,
  });
  htmlFile = path.join(temp.dir, 'health-report.html');
  await writeFile(htmlFile, await renderHtml(report, { title: 'Production health' }));
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

/** Non-background pixels of a canvas: a drawn chart has many, an empty one none. */
function inkedPixels(selector: string): Promise<number> {
  return page.$eval(selector, (el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const isBlank =
        data[i + 3] === 0 || (data[i]! > 245 && data[i + 1]! > 245 && data[i + 2]! > 245);
      if (!isBlank) n++;
    }
    return n;
  });
}

function columnText(col: number): Promise<string[]> {
  return page.$$eval(
    `#findings tbody tr`,
    (rows, c) => rows.map((r) => (r as HTMLTableRowElement).cells[c]!.textContent ?? ''),
    col,
  );
}

describe('the HTML report in headless Chromium', () => {
  it('loads with no console error and no network request besides the file itself', async () => {
    expect(consoleErrors).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
    expect(requests.filter((u) => u.startsWith('file://'))).toEqual([pathToFileURL(htmlFile).href]);
  });

  it('draws the trend chart and the heat map', async () => {
    expect(await page.$$eval('#trend canvas', (c) => c.length)).toBe(1);
    expect(await inkedPixels('#trend canvas')).toBeGreaterThan(2000);
    expect(await inkedPixels('#heatmap')).toBeGreaterThan(10000);
    const heatHeight = await page.$eval('#heatmap', (c) => (c as HTMLCanvasElement).height);
    expect(heatHeight).toBeGreaterThan(100);
  });

  it('sorts the findings table when a header is clicked', async () => {
    await page.click('#findings th:nth-child(2)');
    const up = await columnText(1);
    expect(up).toEqual([...up].sort((a, b) => a.localeCompare(b)));
    expect(await page.getAttribute('#findings th:nth-child(2)', 'aria-sort')).toBe('ascending');
    await page.click('#findings th:nth-child(2)');
    const down = await columnText(1);
    expect(down).toEqual([...up].reverse());
    await page.click('#findings th:nth-child(5)');
    const values = (await columnText(4))
      .map((v) => Number.parseFloat(v))
      .filter((v) => !Number.isNaN(v));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.length).toBeGreaterThan(20);
  });

  it('filters the findings table as the user types', async () => {
    await page.fill('#findings-filter', 'postgresql');
    const visible = await page.$$eval(
      '#findings tbody tr',
      (rows) => rows.filter((r) => (r as HTMLElement).style.display !== 'none').length,
    );
    expect(visible).toBe(1);
    expect(await page.textContent('#findings-count')).toBe(`1 of ${report.findings.length} shown`);
    await page.fill('#findings-filter', '');
  });

  it('shows host-controlled text as text: an injected script never runs', async () => {
    expect(dialogs).toEqual([]);
    expect(
      await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();
    expect(await page.$$('img[src="x"]')).toEqual([]);
    expect(await page.textContent('body')).toContain('<script>window.__pwned=1');
  });

  it('says which host never answered and which check measured nothing', async () => {
    const notes = await page.textContent('#notes');
    expect(notes).toContain('1 host never answered in this range and has no score: ghost-01.');
    expect(notes).toContain('inspection.tls-cert (cache.internal:6380) on cache-01');
  });

  it('hides the filter box when printed, and saves screenshots as test artifacts', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'health-report.png'), fullPage: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'health-report-top.png') });
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#findings-filter')).toBe(false);
    await page.screenshot({
      path: path.join(ARTIFACTS, 'health-report-print.png'),
      fullPage: true,
    });
    await page.emulateMedia({ media: 'screen' });
  });
});
