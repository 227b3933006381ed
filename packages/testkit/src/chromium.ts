import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * A real headless Chromium for tests (real parts, not fakes: see testkit README): Debian's
 * `chromium`, driven by playwright-core, with a fresh profile per launch and every background
 * service that could reach the network off, so a test that counts requests sees only the page's
 * own.
 */
export interface ChromiumOptions {
  /** Default `/usr/bin/chromium` (Debian package `chromium`). */
  executablePath?: string;
}

export interface Chromium {
  context: BrowserContext;
  /** The fresh profile folder, removed by `dispose`. */
  userDataDir: string;
  newPage(): Promise<Page>;
  /** Closes the browser and removes the profile folder. */
  dispose(): Promise<void>;
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Chromium; throws (the test fails, never skips) when it is not installed or will not start. */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Chromium> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: install the Debian package (apt-get install chromium); .ci/run does this`,
    );
  }
  const { chromium } = await import('playwright-core');
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'opsbook-chromium-'));
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes a profile folder of our choosing: the
    // equivalent of --user-data-dir, which plain launch() refuses in args.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    context,
    userDataDir,
    newPage: () => context.newPage(),
    async dispose() {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
