// `strata ui` in headless Chromium, clicked through as a user would: the datasets, a dataset's
// timeline, a version's folders and an image's preview, a diff of two versions, the lineage of a
// three-job chain and a run's log, then a new version filled by a folder upload, committed and tagged
// (checked with the CLI). A screenshot of each step goes to test-results/screenshots/.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/core/bytes.js';
import { browserForFile, newWatchedPage, type PageWatch } from '../helpers/browser.js';
import { startUi, type RunningUi } from '../helpers/ui-server.js';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, ROOT } from '../helpers/expect-cli.js';
import { createDataset, writeFiles, type FileJson, type VersionJson } from '../helpers/fixtures.js';
import { parseJson, writeSpec, type SpecRunJson } from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';
import { randomBytesFrom, rng } from '../helpers/tree.js';

const fresh = tempDirs('strata-browser-');
const browser = await browserForFile();

beforeAll(assertBuilt);

const SHOTS = join(ROOT, 'test-results/screenshots');
/** The README's picture of the app: rewritten only when missing or asked for (it is committed). */
const DOCS_PNG = join(ROOT, 'docs/ui.png');
const UPDATE_DOCS_PNG = process.env.STRATA_UPDATE_UI_PNG === '1' || !existsSync(DOCS_PNG);

type Rgb = [number, number, number];

/** A valid RGB PNG of width × height (8 bits a channel, no interlace), each pixel from `color` (0–255 each). */
function png(width: number, height: number, color: (x: number, y: number) => Rgb): Buffer {
  const row = width * 3 + 1;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    // Each row: filter type 1 (Sub: every byte less the one a pixel left of it, which deflates well), then RGB.
    raw[y * row] = 1;
    let left = [0, 0, 0];
    for (let x = 0; x < width; x++) {
      const rgb = color(x, y);
      raw.set(
        rgb.map((c, i) => (c - left[i]!) & 255),
        y * row + 1 + x * 3,
      );
      left = rgb;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const IMAGE_W = 320;
const IMAGE_H = 240;
/** Pictures drawn from the pixel's place, x/IMAGE_W and y/IMAGE_H (0 to 1). */
const picture =
  (draw: (u: number, v: number) => Rgb) =>
  (x: number, y: number): Rgb =>
    draw(x / IMAGE_W, y / IMAGE_H).map((c) => Math.round(c)) as Rgb;
const disc = (cu: number, cv: number, r: number, inside: Rgb, outside: Rgb) =>
  picture((u, v) => (((u - cu) * 4) ** 2 + ((v - cv) * 3) ** 2 < r ** 2 ? inside : outside));
const CAT_01 = picture((u, v) => [40 + 160 * u, 90 + 60 * v, 200 - 80 * u]);
const DRAWN: Record<string, (x: number, y: number) => Rgb> = {
  'train/bird-01.png': disc(0.5, 0.5, 1.2, [70, 130, 180], [235, 240, 250]),
  'train/bird-02.png': picture((u, v) => [230 - 100 * v, 200, 90 + 120 * u]),
  'train/cat-01.png': CAT_01,
  'train/cat-02.png': (x, y) => (((x >> 5) + (y >> 5)) % 2 ? [250, 200, 80] : [60, 60, 90]),
  'train/cat-03.png': picture((u, v) => [250 * v, 120 + 100 * u * v, 140]),
  'train/dog-01.png': picture((u, v) => [255 - 200 * u, 80 + 150 * v, 120]),
  'train/dog-03.png': (x) => ((x >> 4) % 2 ? [180, 120, 60] : [240, 220, 190]),
};
const IMAGES = Object.fromEntries(Object.entries(DRAWN).map(([path, draw]) => [path, png(IMAGE_W, IMAGE_H, draw)]));
/** train/dog-02.png, in v2 only. */
const ADDED_PNG = png(IMAGE_W, IMAGE_H, disc(0.5, 0.5, 1.4, [220, 60, 60], [240, 240, 235]));
const LABELS = `file,label\n${Object.keys(IMAGES)
  .map((path) => `${path.slice('train/'.length)},${path.slice('train/'.length).split('-')[0]}`)
  .join('\n')}\n`;
const META_V1 = { name: 'images', classes: ['cat', 'dog'], source: 'generated in the test' };
const META_V2 = { ...META_V1, classes: ['cat', 'dog', 'bird'] };

/** images → prepare → clean → train → model → evaluate → report; each job says what it does on stdout. */
const CHAIN = [
  'jobs:',
  '  prepare:',
  '    inputs: { images: { type: dataset, with: { ref: images } } }',
  '    outputs: { clean: { type: dataset, with: { ref: clean } } }',
  '    run: echo "preparing the labels"; cp "$STRATA_INPUT_IMAGES/train/labels.csv" "$STRATA_OUTPUT_CLEAN/labels.csv"',
  '  train:',
  '    inputs: { data: prepare.outputs.clean }',
  '    outputs: { model: { type: dataset, with: { ref: model } } }',
  '    run: echo "training on the clean labels"; wc -l < "$STRATA_INPUT_DATA/labels.csv" > "$STRATA_OUTPUT_MODEL/weights.txt"',
  '  evaluate:',
  '    inputs: { model: train.outputs.model }',
  '    outputs: { report: { type: dataset, with: { ref: report } } }',
  '    run: echo "evaluating the model, all good"; cat "$STRATA_INPUT_MODEL/weights.txt" > "$STRATA_OUTPUT_REPORT/score.txt"',
];

/** The canvas calls the image check makes, in the page. */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    drawImage(image: unknown, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

/** What the page's file inputs are, in the page (the tests have no DOM typings). */
interface FileInput {
  multiple: boolean;
  webkitdirectory: boolean;
}

/** expect.poll with time for a loaded machine (its default gives up after 1 s). */
const eventually = <T>(value: () => T | Promise<T>, timeout = 15_000) => expect.poll(value, { timeout, interval: 50 });

const texts = (locator: Locator): Promise<string[]> => locator.allInnerTexts().then((t) => t.map((s) => s.trim()));

describe.skipIf(!browser)('strata ui in Chromium: a tour of the app', () => {
  const o: CliOptions = { home: '' };
  let ui: RunningUi;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let v1: VersionJson;
  let v2: VersionJson;
  let runs: Record<string, string>;
  const refs: Record<string, string> = {};
  const upload: Record<string, number> = {}; // path in the version → size
  let shot = 0;
  let created = ''; // the version made in the page

  /** A screenshot of the viewport into test-results/screenshots/NN-name.png; returns its path. */
  const screenshot = async (name: string): Promise<string> => {
    mkdirSync(SHOTS, { recursive: true });
    const path = join(SHOTS, `ui-${String(++shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path });
    return path;
  };

  /** The folder table's entries, as their link texts ("train/" for a folder). */
  const entries = (): Promise<string[]> => texts(page.locator('[data-testid=files] tbody td:first-child a'));

  beforeAll(async () => {
    o.home = fresh();
    await createDataset(o, 'images');
    const a = writeFiles(fresh(), {
      'train/labels.csv': LABELS,
      'meta.json': JSON.stringify(META_V1),
      'README.txt': 'Pictures of cats and dogs, made up in a test.\n',
      'old-notes.txt': 'notes nobody reads any more\n',
    });
    for (const [path, bytes] of Object.entries(IMAGES)) writeFileSync(join(a, path), bytes);
    const b = writeFiles(fresh(), {
      'train/labels.csv': LABELS,
      'meta.json': JSON.stringify(META_V2), // changed
      'docs/README.txt': 'Pictures of cats and dogs, made up in a test.\n', // renamed from README.txt
    }); // old-notes.txt removed
    for (const [path, bytes] of Object.entries(IMAGES)) writeFileSync(join(b, path), bytes);
    writeFileSync(join(b, 'train/dog-02.png'), ADDED_PNG); // added
    const create = (dir: string, message: string): Promise<VersionJson> =>
      strataJson<VersionJson>(
        ['datasets', 'versions', 'create', '--id', 'images', '--source-path', `${dir}/`, '--message', message],
        o,
      );
    v1 = await create(a, 'first pictures');
    v2 = await create(b, 'a bird class, one more dog, notes moved');

    const spec = writeSpec(join(fresh(), 'chain.yaml'), ...CHAIN);
    const ran = await strata(['jobs', 'run', '--file', spec, '--json'], o);
    expect(ran.code, `jobs run: ${ran.stdout}\n${ran.stderr}`).toBe(0);
    const run = parseJson<SpecRunJson>(ran);
    runs = Object.fromEntries(run.jobs.map((j) => [j.job, 'runId' in j ? j.runId : '']));
    expect(run.jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    for (const job of run.jobs) if ('outputs' in job) refs[job.outputs[0]!.name] = job.outputs[0]!.ref;

    ui = await startUi(o.home, [], o.env);
    ({ context, page, watch } = await newWatchedPage(browser!));
    // The printed URL sets the session cookie and sends the browser on to the app, token out of the URL.
    await page.goto(ui.url);
    expect(page.url()).toBe(`${ui.base}/`);
    expect(await context.cookies()).toMatchObject([{ name: 'strata_ui', httpOnly: true, sameSite: 'Strict' }]);
  }, 120_000);

  afterEach(() => {
    expect(watch).toEqual({ errors: [], console: [], dialogs: [] });
  });

  afterAll(async () => {
    await context?.close();
    await ui?.stop();
  });

  it('lists the datasets with their storage provider, version count, files and size', async () => {
    const table = page.getByTestId('datasets');
    await eventually(() => texts(table.locator('tbody td:first-child a'))).toEqual(
      expect.arrayContaining(['images', 'clean', 'model', 'report']),
    );
    const row = table.locator('tbody tr', { has: page.getByRole('link', { name: 'images', exact: true }) });
    // Name (and an empty description) | Storage provider | Versions | Files (latest) | Size (latest) | Updated
    const cells = await texts(row.locator('td'));
    expect(cells.slice(0, 5)).toEqual(['images', 'local', '2', String(v2.fileCount), formatBytes(v2.size)]);
    expect(v2.fileCount).toBe(11);
    expect(await texts(table.locator('tbody tr td:nth-child(2)'))).toEqual(['local', 'local', 'local', 'local']);
    await screenshot('datasets');
  });

  it('a dataset shows its versions newest first, with their messages, files and sizes', async () => {
    await page.getByRole('link', { name: 'images', exact: true }).click();
    await eventually(() => page.locator('h1').innerText()).toBe('images');
    await eventually(() => page.url()).toBe(`${ui.base}/#/datasets/${v1.datasetId}`);
    const items = page.getByTestId('versions').locator('> li');
    await eventually(() => items.count()).toBe(2);
    const [newest, oldest] = await texts(items);
    expect(newest).toContain(v2.id);
    expect(newest).toContain('a bird class, one more dog, notes moved');
    expect(newest).toContain(`11 files · ${formatBytes(v2.size)}`);
    expect(oldest).toContain(v1.id);
    expect(oldest).toContain('first pictures');
    expect(oldest).toContain(`11 files · ${formatBytes(v1.size)}`);
    expect(await page.locator('.badge').count()).toBe(0); // both committed
    await screenshot('timeline');
  });

  it('a version shows its folders and previews a file: JSON, CSV, and a PNG that loads', async () => {
    await page.getByTestId('versions').getByRole('link', { name: v2.id }).click();
    await eventually(() => page.locator('h1').innerText()).toBe(`images : ${v2.id}`);
    await eventually(entries).toEqual(['docs/', 'meta.json', 'train/']);
    expect(await page.locator('.folder .muted').first().innerText()).toBe(`11 files below · ${formatBytes(v2.size)}`);

    await page.locator('[data-testid=files] a.file', { hasText: 'meta.json' }).click();
    const preview = page.getByTestId('preview');
    await eventually(() => preview.locator('h2').innerText()).toBe('meta.json');
    await eventually(() => preview.locator('pre.text').innerText()).toBe(JSON.stringify(META_V2, null, 2));

    await page.locator('[data-testid=files] a.dir', { hasText: 'train/' }).click();
    const train = [...Object.keys(IMAGES), 'train/dog-02.png', 'train/labels.csv'].map((p) => p.slice('train/'.length));
    await eventually(entries).toEqual(train.sort());
    expect(await page.locator('nav.crumbs').innerText()).toBe('/train/');
    const labelsRow = page.locator('[data-testid=files] tbody tr', { hasText: 'labels.csv' });
    expect((await texts(labelsRow.locator('td')))[1]).toBe(formatBytes(LABELS.length));

    await page.locator('[data-testid=files] a.file', { hasText: 'labels.csv' }).click();
    await eventually(() => preview.locator('h2').innerText()).toBe('labels.csv');
    await eventually(() => texts(preview.locator('table.csv tr:first-child th'))).toEqual(['file', 'label']);
    const cells = LABELS.trim().split('\n').slice(1).join(',').split(',');
    expect(await texts(preview.locator('table.csv tr td'))).toEqual(cells);
    expect(cells.slice(0, 4)).toEqual(['bird-01.png', 'bird', 'bird-02.png', 'bird']);

    await page.locator('[data-testid=files] a.file', { hasText: 'cat-01.png' }).click();
    await eventually(() => preview.locator('h2').innerText()).toBe('cat-01.png');
    const image = preview.locator('img.image');
    await image.waitFor();
    // Loaded and decoded: a broken image is complete with naturalWidth 0.
    const size = async (): Promise<number[]> =>
      image.evaluate((img) => {
        const i = img as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number };
        return i.complete ? [i.naturalWidth, i.naturalHeight] : [];
      });
    await eventually(size).toEqual([IMAGE_W, IMAGE_H]);
    // The pixels are the file's: drawn on a canvas (same origin, so readable), two of them read back.
    const pixels = await image.evaluate(
      (img, points) => {
        const doc = (globalThis as unknown as { document: { createElement(tag: string): Canvas } }).document;
        const canvas = doc.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        return points.map(([x, y]) => [...context.getImageData(x, y, 1, 1).data.slice(0, 3)]);
      },
      [
        [0, 0],
        [251, 177],
      ] as [number, number][],
    );
    expect(pixels).toEqual([CAT_01(0, 0), CAT_01(251, 177)]);
    expect(await preview.innerText()).toContain(`${formatBytes(IMAGES['train/cat-01.png']!.length)} · mode`);
    await eventually(() => page.locator('tr.selected').innerText()).toContain('cat-01.png');
    const path = await screenshot('version-image-preview');
    if (UPDATE_DOCS_PNG) copyFileSync(path, DOCS_PNG);
  });

  it('two versions picked on the timeline diff as 1 added, 1 removed, 1 changed, 1 renamed', async () => {
    await page.locator('h1 a', { hasText: 'images' }).click();
    await page.getByLabel(`pick ${v1.id}`).check();
    await page.getByLabel(`pick ${v2.id}`).check();
    await page.getByRole('link', { name: 'Diff the two picked' }).click();
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    expect(await page.locator('main p').first().innerText()).toBe(`${v1.ref} → ${v2.ref}`);
    const section = async (kind: string): Promise<[string, string[]]> => [
      await diff.getByTestId(`diff-${kind}`).locator('h2 .count').innerText(),
      await texts(diff.getByTestId(`diff-${kind}`).locator('li')),
    ];
    expect(await section('added')).toEqual(['1', ['train/dog-02.png']]);
    expect(await section('removed')).toEqual(['1', ['old-notes.txt']]);
    expect(await section('changed')).toEqual(['1', ['meta.json']]);
    expect(await section('renamed')).toEqual(['1', ['README.txt → docs/README.txt']]);
    await screenshot('diff');
  });

  it("the lineage of the chain's last output shows its versions and runs; a run shows its log", async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Datasets' }).click();
    await page.getByRole('link', { name: 'report', exact: true }).click();
    await page.getByTestId('versions').getByRole('link', { name: 'lineage' }).click();
    const svg = page.getByTestId('lineage');
    await svg.waitFor();

    const ids = async (kind: string): Promise<(string | null)[]> =>
      Promise.all((await svg.locator(`g.node.${kind}`).all()).map((node) => node.getAttribute('data-node')));
    expect((await ids('version')).sort()).toEqual([v2.ref, refs.clean, refs.model, refs.report].sort());
    expect((await ids('run')).sort()).toEqual([runs.prepare, runs.train, runs.evaluate].sort());
    expect(await svg.locator('polyline.edge').count()).toBe(6);
    const title = async (id: string): Promise<string | null> =>
      svg.locator(`g.node[data-node="${id}"] text.title`).textContent();
    expect(await title(v2.ref)).toBe('images');
    expect(await title(refs.clean!)).toBe('clean');
    expect(await title(refs.model!)).toBe('model');
    expect(await title(refs.report!)).toBe('report');
    expect(await title(runs.evaluate!)).toBe('run evaluate');
    expect(await svg.locator('g.node.root').getAttribute('data-node')).toBe(refs.report);
    await screenshot('lineage');

    await svg.locator(`g.node.run[data-node="${runs.evaluate}"]`).click();
    await eventually(() => page.url()).toBe(`${ui.base}/#/runs/${runs.evaluate}`);
    await eventually(() => page.locator('h1').innerText()).toBe(`Run ${runs.evaluate}: evaluate`);
    await eventually(() => page.getByTestId('run-log').innerText()).toContain('evaluating the model, all good');
    const body = await page.locator('main').innerText();
    expect(body).toContain(CHAIN[12]!.slice('    run: '.length));
    expect(body).toContain(`model: model:${refs.model!.split(':')[1]}`);
    expect(body).toContain(`report: report:${refs.report!.split(':')[1]}`);
    await screenshot('run');
  });

  it('"New version" on the dataset page opens an uncommitted version with an upload area that picks folders', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Datasets' }).click();
    await page.getByRole('link', { name: 'images', exact: true }).click();
    await page.getByLabel('message of the new version').fill('uploaded from the browser');
    await page.getByRole('button', { name: 'New version' }).click();
    await eventually(() => page.locator('h1 .badge').innerText()).toBe('uncommitted');
    created = decodeURIComponent(page.url().split('#/versions/')[1] ?? '');
    expect(created).toMatch(new RegExp(`^${v1.datasetId}:\\w+$`));
    expect(await page.locator('main p.muted').first().innerText()).toContain('uploaded from the browser · 0 files');
    await page.getByTestId('dropzone').waitFor();
    expect(await page.getByLabel('tag name').count()).toBe(0); // no tags on an uncommitted version
    expect(await page.getByTestId('pick-files').evaluate((el) => (el as unknown as FileInput).multiple)).toBe(true);
    // The "folder" input must be a directory picker: without webkitdirectory a browser offers files only.
    expect(
      await page.getByTestId('pick-folder').evaluate((el) => (el as unknown as FileInput).webkitdirectory),
      'the folder input has no webkitdirectory (web/src/pages/upload.tsx: webkitdirectory="" sets the property to false)',
    ).toBe(true);
  });

  it('a folder of 50 files uploads into it; it is committed, tagged, and the CLI finds every file', async () => {
    expect(created, 'the previous test opened no version').not.toBe('');
    const folder = join(fresh(), 'batch');
    const random = rng(7);
    for (let i = 0; i < 50; i++) {
      const path = `batch/part-${i % 5}/sample-${String(i).padStart(2, '0')}.bin`;
      const bytes = randomBytesFrom(random, 50 + i * 41);
      mkdirSync(join(folder, `part-${i % 5}`), { recursive: true });
      writeFileSync(join(folder, path.slice('batch/'.length)), bytes);
      upload[path] = bytes.length;
    }
    const total = Object.values(upload).reduce((n, s) => n + s, 0);

    const pickFolder = page.getByTestId('pick-folder');
    await pickFolder.setInputFiles(folder);
    const progress = page.getByTestId('upload-progress');
    await eventually(async () => (await progress.innerText()).trim(), 30_000).toMatch(
      new RegExp(`^done: 50 files stored, ${formatBytes(total).replace('.', '\\.')} uploaded in \\d+\\.\\d s$`),
    );
    await eventually(entries).toEqual(['batch/']);
    await eventually(() => page.locator('main p.muted').first().innerText()).toContain(
      `50 files · ${formatBytes(total)}`,
    );
    await screenshot('upload-done');

    const commit = page.getByRole('button', { name: 'Commit this version' });
    expect(await commit.isEnabled(), 'Commit is enabled once the upload is done').toBe(true);
    await commit.click();
    await page.getByLabel('tag name').waitFor();
    expect(await page.locator('h1 .badge').count()).toBe(0);
    expect(await page.getByTestId('dropzone').count()).toBe(0);
    await page.getByLabel('tag name').fill('ui-tag');
    await page.getByRole('button', { name: 'Tag this version' }).click();
    await eventually(() => texts(page.locator('h1 span.tag'))).toEqual(['ui-tag']);
    await screenshot('tagged');

    await page.locator('h1 a', { hasText: 'images' }).click();
    const newest = page.getByTestId('versions').locator('> li').first();
    await eventually(() => newest.innerText()).toContain('uploaded from the browser');
    expect(await texts(newest.locator('span.tag'))).toEqual(['ui-tag']);

    const files = await strataJson<FileJson[]>(['datasets', 'files', 'list', '--id', 'images:ui-tag', '-r'], o);
    const stored = Object.fromEntries(
      files.filter((f) => f.type === 'file').map((f) => [f.path.replace(/^\//, ''), f.size]),
    );
    expect(stored).toEqual(upload);
    const tagged = await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', 'images:ui-tag'], o);
    expect(tagged).toMatchObject({ ref: created, isCommitted: true, message: 'uploaded from the browser' });
  });

  it('stops on SIGTERM with exit code 0', async () => {
    await context.close();
    const r = await ui.stop();
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  });
});
