// `strata ui` shows what a dataset holds as text, never as markup of its own origin: file and
// folder names, HTML and SVG files, CSV cells, JSON, a version's message, a dataset's description
// and a run's log that are all markup meant to run (each would set window.__pwned). Browsed in
// headless Chromium: nothing runs, no dialog opens, every name reads literally, and the file
// content endpoint serves HTML and SVG as sandboxed downloads, ?inline=1 or not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserForFile, newWatchedPage, type PageWatch } from '../helpers/browser.js';
import { startUi, type RunningUi } from '../helpers/ui-server.js';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles, type DatasetJson, type VersionJson } from '../helpers/fixtures.js';
import { parseJson, writeSpec, type SpecRunJson } from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-xss-');
const browser: Browser | undefined = await browserForFile();

beforeAll(assertBuilt);

const EVIL_HTML = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const EVIL_NAME = '<img src=x onerror=window.__pwned=3>.txt';
const EVIL_DIR = '<svg onload=window.__pwned=4>';
const EVIL_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=5"><script>window.__pwned=6;alert(6)</script>' +
  '<rect width="10" height="10"/></svg>';
const EVIL_MESSAGE = '<img src=x onerror=window.__pwned=7>';
const EVIL_CSV = 'name,value\n"<img src=x onerror=window.__pwned=8>",1\n';
const EVIL_JSON = { '<b onmouseover=window.__pwned=9>': '</pre><script>window.__pwned=10</script>' };
const EVIL_LOG = '<img src=x onerror=window.__pwned=11>';
const EVIL_DESCRIPTION = '<iframe srcdoc="<script>parent.__pwned=12</script>"></iframe>';

const FILES: Record<string, string> = {
  'evil.html': EVIL_HTML,
  'evil.svg': EVIL_SVG,
  [EVIL_NAME]: 'a file whose name is markup\n',
  [`${EVIL_DIR}/inside.txt`]: 'in a folder whose name is markup\n',
  'cells.csv': EVIL_CSV,
  'data.json': JSON.stringify(EVIL_JSON),
};

describe.skipIf(!browser)('strata ui in Chromium: what a dataset holds never runs in the app', () => {
  const o: CliOptions = { home: '' };
  let ui: RunningUi;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let version: VersionJson;
  let runId: string;

  /**
   * Nothing ran, and the page holds no element a dataset's markup would have made. window.__pwned
   * alone proves little: the app's CSP (no inline script) would block these handlers even if the page
   * made them, so the elements are looked for too, and a blocked one shows as a console error (watch).
   */
  async function expectNothingRan(where: Page = page): Promise<void> {
    expect(await where.evaluate('window.__pwned')).toBeUndefined();
    const injected = await where.evaluate(
      `document.querySelectorAll('main img:not(.image), main iframe, main script, main svg:not([data-testid=lineage]), [onerror], [onload], [onmouseover], [srcdoc]').length`,
    );
    expect(injected).toBe(0);
  }

  beforeAll(async () => {
    o.home = fresh();
    await strataJson<DatasetJson>(['datasets', 'create', '--name', 'hostile', '--description', EVIL_DESCRIPTION], o);
    const source = writeFiles(fresh(), FILES);
    version = await strataJson<VersionJson>(
      ['datasets', 'versions', 'create', '--id', 'hostile', '--source-path', `${source}/`, '--message', EVIL_MESSAGE],
      o,
    );
    const spec = writeSpec(join(fresh(), 'shout.yaml'), 'jobs:', '  shout:', `    run: echo '${EVIL_LOG}'`);
    const ran = await strata(['jobs', 'run', '--file', spec, '--json'], o);
    expect(ran.code, `jobs run: ${ran.stdout}\n${ran.stderr}`).toBe(0);
    const job = parseJson<SpecRunJson>(ran).jobs[0]!;
    runId = 'runId' in job ? job.runId : '';

    ui = await startUi(o.home, [], o.env);
    ({ context, page, watch } = await newWatchedPage(browser!));
    await page.goto(ui.url);
  }, 120_000);

  afterEach(async () => {
    await expectNothingRan();
    expect(watch).toEqual({ errors: [], console: [], dialogs: [] });
  });

  afterAll(async () => {
    await context?.close();
    await ui?.stop();
  });

  it("the datasets list and the dataset's timeline show a description and a message that are markup as text", async () => {
    const row = page.getByTestId('datasets').locator('tbody tr', { hasText: 'hostile' });
    await row.waitFor();
    expect(await row.locator('td:first-child .muted').textContent()).toBe(EVIL_DESCRIPTION);

    await row.getByRole('link', { name: 'hostile' }).click();
    const item = page.getByTestId('versions').locator('> li');
    await item.waitFor();
    expect(await page.locator('main p.muted').first().textContent()).toContain(EVIL_DESCRIPTION);
    expect(await item.textContent()).toContain(EVIL_MESSAGE);
    await expectNothingRan();
  });

  it('names that are markup read literally in the folder table and the preview', async () => {
    await page.getByTestId('versions').getByRole('link', { name: version.id }).click();
    const links = page.locator('[data-testid=files] tbody td:first-child a');
    await expect
      .poll(() => links.allTextContents(), { timeout: 15_000 })
      .toEqual([`${EVIL_DIR}/`, EVIL_NAME, 'cells.csv', 'data.json', 'evil.html', 'evil.svg'].sort());
    expect(await page.locator('main p.muted').first().textContent()).toContain(EVIL_MESSAGE);

    await page.locator('[data-testid=files] a.file', { hasText: EVIL_NAME }).click();
    const preview = page.getByTestId('preview');
    await expect.poll(() => preview.locator('h2').textContent(), { timeout: 15_000 }).toBe(EVIL_NAME);
    await expect.poll(() => preview.locator('pre.text').textContent()).toBe(FILES[EVIL_NAME]);
    await expectNothingRan();

    await page.locator('[data-testid=files] a.dir', { hasText: EVIL_DIR }).click();
    await expect.poll(() => links.allTextContents(), { timeout: 15_000 }).toEqual(['inside.txt']);
    expect(await page.locator('nav.crumbs').textContent()).toBe(`/${EVIL_DIR}/`);
    await page.locator('[data-testid=files] a.file', { hasText: 'inside.txt' }).click();
    await expect.poll(() => preview.locator('h2').textContent(), { timeout: 15_000 }).toBe('inside.txt');
    await expectNothingRan();
    await page.locator('nav.crumbs a', { hasText: '/' }).first().click();
    await expect.poll(() => links.count(), { timeout: 15_000 }).toBe(6);
  });

  it('HTML, SVG, CSV and JSON files that are markup preview as text', async () => {
    const preview = page.getByTestId('preview');
    const open = async (name: string): Promise<void> => {
      await page.locator('[data-testid=files] a.file', { hasText: name }).click();
      await expect.poll(() => preview.locator('h2').textContent(), { timeout: 15_000 }).toBe(name);
    };
    await open('evil.html');
    await expect.poll(() => preview.locator('pre.text').textContent()).toBe(EVIL_HTML);
    await expectNothingRan();
    await open('evil.svg');
    await expect.poll(() => preview.locator('pre.text').textContent()).toBe(EVIL_SVG);
    expect(await preview.locator('img').count()).toBe(0); // an SVG is never shown as an image
    await expectNothingRan();
    await open('cells.csv');
    await expect
      .poll(() => preview.locator('table.csv td').allTextContents())
      .toEqual(['<img src=x onerror=window.__pwned=8>', '1']);
    await expectNothingRan();
    await open('data.json');
    await expect.poll(() => preview.locator('pre.text').textContent()).toBe(JSON.stringify(EVIL_JSON, null, 2));
    await expectNothingRan();
  });

  it('the content link of an HTML file, and of an SVG with ?inline=1, is a sandboxed download', async () => {
    const cases = [
      { name: 'evil.html', inline: false },
      { name: 'evil.svg', inline: true },
      { name: 'evil.html', inline: true },
    ];
    for (const { name, inline } of cases) {
      await page.locator('[data-testid=files] a.file', { hasText: name }).click();
      const download = page.getByTestId('preview').getByRole('link', { name: 'Download' });
      await expect.poll(() => download.getAttribute('href'), { timeout: 15_000 }).toContain(encodeURIComponent(name));
      let href = (await download.getAttribute('href'))!;
      if (inline) href += '&inline=1';
      const url = new URL(href, ui.base).toString();

      // What the server says: an attachment of a neutral type, under a CSP that runs nothing.
      const response = await context.request.get(url);
      expect(response.status()).toBe(200);
      const headers = response.headers();
      expect(headers['content-type']).toBe('application/octet-stream');
      expect(headers['content-disposition']).toMatch(/^attachment;/);
      expect(headers['content-security-policy']).toMatch(/\bsandbox\b/);
      expect(headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(await response.text()).toBe(FILES[name]);

      // What a browser does with it opened in a tab of its own: saves it; nothing runs.
      const tab = await context.newPage();
      const saved = tab.waitForEvent('download', { timeout: 15_000 });
      await tab.goto(url).catch(() => undefined); // a download aborts the navigation
      const file = await saved;
      expect(file.suggestedFilename()).toBe(name);
      expect(readFileSync(await file.path(), 'utf8')).toBe(FILES[name]);
      expect(await tab.evaluate('window.__pwned')).toBeUndefined();
      expect(await tab.evaluate('document.documentElement.outerHTML')).not.toContain('__pwned');
      await tab.close();
    }
  });

  it("a run's log and command that are markup read literally", async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Runs' }).click();
    await page.getByTestId('runs').getByRole('link', { name: runId }).click();
    const log = page.getByTestId('run-log');
    await expect.poll(() => log.textContent(), { timeout: 15_000 }).toContain(EVIL_LOG);
    expect(await page.locator('main code').textContent()).toBe(`echo '${EVIL_LOG}'`);
  });

  it('no dialog opened in any page, and the app page never ran what it showed', async () => {
    expect(watch.dialogs).toEqual([]);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
  });
});
