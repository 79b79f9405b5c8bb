// Headless Chromium for the browser tests (test/browser), driven by playwright-core: Debian's
// chromium package (playwright downloads no browser here), installed by scripts/browser.sh if missing.
//   STRATA_TEST_CHROMIUM=PATH   use this Chromium (or Chrome) executable
//   STRATA_TEST_BROWSER=off     no browser: the browser tests skip (ignored under CI)
//   CI (non-empty)              a browser that cannot start fails the file instead of skipping
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll } from 'vitest';
import { inCI } from './ci.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/browser.sh');
/** An apt-get update and install of chromium with its libraries, on a slow mirror. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** The viewport of every page: docs/ui.png is taken at this size. */
export const VIEWPORT = { width: 1280, height: 800 };

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium executable: STRATA_TEST_CHROMIUM, Debian's /usr/bin/chromium, or chromium on PATH;
 * when there is none, `scripts/browser.sh ensure` installs the Debian package (apt-get) and names it.
 * Throws with the script's reason when that fails.
 */
export function chromiumPath(): string {
  const given = process.env.STRATA_TEST_CHROMIUM;
  if (given) {
    if (!executable(given)) throw new Error(`STRATA_TEST_CHROMIUM=${given} is not an executable file`);
    return given;
  }
  if (executable('/usr/bin/chromium')) return '/usr/bin/chromium';
  const which = spawnSync('which', ['chromium'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  if (onPath) return onPath;
  const r = spawnSync('bash', [SCRIPT, 'ensure'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: INSTALL_TIMEOUT_MS,
  });
  const path = r.stdout?.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !path) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(`Chromium is not installed and scripts/browser.sh ensure failed (${why}):\n${r.stderr ?? ''}`);
  }
  return path;
}

/** Headless Chromium (no sandbox: the tests run as root, which Chromium's sandbox refuses). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}

/**
 * A browser for this test file, closed when the file is done; undefined when it cannot start
 * outside CI (the file's tests skip, with a loud warning on stderr). Under CI it throws, so the file fails.
 */
export async function browserForFile(): Promise<Browser | undefined> {
  const ci = inCI();
  if (process.env.STRATA_TEST_BROWSER === 'off' && !ci) return undefined;
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (ci) throw new Error(`CI is set and the test browser (headless Chromium) could not start. ${reason}`);
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\nBROWSER TESTS SKIPPED: headless Chromium did not start.\n${reason}\n` +
        `Set STRATA_TEST_BROWSER=off to skip them on purpose, or STRATA_TEST_CHROMIUM to a Chromium executable.\n${bar}\n\n`,
    );
    return undefined;
  }
  afterAll(async () => {
    await browser.close();
  });
  return browser;
}

/** What a page did that no page of the app should: uncaught script errors, console errors, dialogs. */
export interface PageWatch {
  errors: string[];
  console: string[];
  dialogs: string[];
}

/**
 * A fresh context (its own cookies) and page at VIEWPORT; dialogs (alert, confirm …) of any page
 * of the context are dismissed and recorded, the page's uncaught errors and console errors recorded.
 */
export async function newWatchedPage(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  const watch: PageWatch = { errors: [], console: [], dialogs: [] };
  context.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => undefined);
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('console', (message) => {
    const from = message.location().url;
    // The browser's own request of /favicon.ico, which the app does not serve (a 404 is logged).
    if (message.type() !== 'error' || new URL(from || 'x:/').pathname === '/favicon.ico') return;
    watch.console.push(`${message.text()} (${from})`);
  });
  return { context, page, watch };
}
