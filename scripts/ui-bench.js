#!/usr/bin/env node
// `npm run bench:ui`: the figures of docs/ui.md, measured (never a timed test):
//   - ready: from spawning `strata ui` to its first page served (median of ROUNDS);
//   - a flat folder of 100,000 files: server time (the Server-Timing header) of its first and its
//     last page of 100 entries (median of ROUNDS requests each);
//   - 2,000 small files (1–8 KiB) uploaded through the page, headless Chromium choosing them in
//     the file picker, from the page having them (its own clock, as a file dialog hands them over;
//     how long Playwright took to hand them over is reported beside) until it says they are
//     stored, against `strata datasets files put` of the same files in a process of its own
//     (start-up, walk and all); alternating, ROUNDS pairs, each into a fresh
//     STRATA_HOME (nothing deduplicated), on the local provider, and on the S3 server named by
//     STRATA_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY when those are set (a fresh bucket per round).
// Prints JSON and writes it to bench/results/ui-<ISO time>.json. Needs `npm run build` first.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin/run.cjs');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const FLAT_FILES = Number(process.env.FLAT_FILES ?? 100_000);
const UPLOAD_FILES = 2000;
const base = mkdtempSync(join(tmpdir(), 'strata-ui-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (m) => process.stderr.write(`${m}\n`);
const s3 = process.env.STRATA_TEST_S3_ENDPOINT
  ? {
      endpoint: process.env.STRATA_TEST_S3_ENDPOINT,
      accessKey: process.env.STRATA_TEST_S3_ACCESS_KEY,
      secretKey: process.env.STRATA_TEST_S3_SECRET_KEY,
    }
  : undefined;
const client =
  s3 &&
  new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
const buckets = [];

function strata(home, args, extraEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, STRATA_HOME: home, ...extraEnv },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`strata ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** `strata ui` started; resolves once it printed its URL. */
function startUi(home) {
  const child = spawn(process.execPath, [BIN, 'ui', '--no-open'], {
    env: { ...process.env, STRATA_HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Strata UI: (\S+)/.exec(out);
      if (m) done(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`strata ui exited ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((done) => {
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

const api = (url) => {
  const origin = url.split('/?')[0];
  const token = url.split('token=')[1];
  return (path) => fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
};

async function ready() {
  const home = join(base, 'ready');
  strata(home, ['datasets', 'list']); // the catalog exists: the figure is the server's start, not a first run's
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const ui = startUi(home);
    const url = await ui.url;
    const res = await api(url)('/');
    if (res.status !== 200) throw new Error(`GET / answered ${res.status}`);
    await res.arrayBuffer();
    times.push(performance.now() - t);
    await ui.stop();
  }
  return { medianMs: median(times), runsMs: times };
}

async function flatFolder() {
  const home = join(base, 'flat');
  const src = join(base, 'flat-src', 'flat');
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < FLAT_FILES; i++) writeFileSync(join(src, `f${String(i).padStart(6, '0')}.bin`), `${i}\n`);
  strata(home, ['datasets', 'create', '--name', 'flat']);
  strata(home, ['datasets', 'versions', 'create', '--id', 'flat', '--source-path', src]);
  rmSync(join(base, 'flat-src'), { recursive: true, force: true });
  const ui = startUi(home);
  const get = api(await ui.url);
  const serverMs = async (query) => {
    const times = [];
    let entries = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const res = await get(`/api/versions/flat:latest/files?path=flat&limit=100${query}`);
      const page = await res.json();
      if (res.status !== 200) throw new Error(JSON.stringify(page));
      entries = page.entries.length;
      times.push(Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing'))[1]));
    }
    return { medianMs: median(times), runsMs: times, entries };
  };
  try {
    return { files: FLAT_FILES, first: await serverMs(''), last: await serverMs('&last=1') };
  } finally {
    await ui.stop();
  }
}

function makeFiles(dir) {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (let i = 0; i < UPLOAD_FILES; i++) {
    const size = 1024 + Math.floor(Math.random() * 7 * 1024);
    writeFileSync(join(dir, `s${String(i).padStart(4, '0')}.bin`), randomBytes(size));
    bytes += size;
  }
  return bytes;
}

/** A fresh STRATA_HOME with a dataset on the provider under test and an open version; returns its ref. */
async function freshVersion(home, round, who) {
  let provider = [];
  if (s3) {
    const bucket = `strata-ui-bench-${process.pid}-${round}-${who}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    buckets.push(bucket);
    strata(home, [
      'storageProviders',
      'create',
      's3',
      '--name',
      'bench',
      '--bucket',
      bucket,
      '--endpoint',
      s3.endpoint,
      '--accessKey',
      s3.accessKey,
      '--secretAccessKey',
      s3.secretKey,
    ]);
    provider = ['--storageProviderId', 'bench'];
  }
  strata(home, ['datasets', 'create', '--name', 'up', ...provider]);
  return JSON.parse(strata(home, ['datasets', 'versions', 'create', '--id', 'up', '--json'])).ref;
}

async function uploads(browser) {
  const pairs = [];
  /** how long Playwright took to hand the page its files (a person's file dialog, not an upload) */
  const picking = [];
  for (let round = 0; round < ROUNDS; round++) {
    const files = join(base, `upload-${round}`);
    const bytes = makeFiles(files);
    const names = Array.from({ length: UPLOAD_FILES }, (_, i) => join(files, `s${String(i).padStart(4, '0')}.bin`));
    const run = {
      cli: async () => {
        const home = join(base, `cli-${round}`);
        const ref = await freshVersion(home, round, 'cli');
        const t = performance.now();
        strata(home, ['datasets', 'files', 'put', '--id', ref, '--source-path', `${files}/`]);
        return performance.now() - t;
      },
      page: async () => {
        const home = join(base, `page-${round}`);
        const ref = await freshVersion(home, round, 'page');
        const ui = startUi(home);
        const url = await ui.url;
        const page = await browser.newPage();
        page.on('pageerror', (e) => log(`page error: ${e.message}`));
        try {
          await page.goto(url); // the token becomes a cookie
          await page.goto(`${url.split('/?')[0]}/#/versions/${encodeURIComponent(ref)}`);
          await page
            .getByTestId('pick-files')
            .waitFor({ state: 'attached', timeout: 10_000 })
            .catch(async (e) => {
              throw new Error(`${e.message}\npage: ${page.url()}\n${await page.locator('body').innerText()}`);
            });
          const t = performance.now();
          await page.getByTestId('pick-files').setInputFiles(names);
          picking.push(performance.now() - t);
          await page.getByText(`done: ${UPLOAD_FILES} files stored`).waitFor({ timeout: 600_000 });
          // From the page's own clock: the files in hand (what a file dialog gives) to all stored.
          return Number(await page.getByTestId('upload-progress').getAttribute('data-elapsed-ms'));
        } finally {
          await page.close();
          await ui.stop();
        }
      },
    };
    // Alternating which goes first: the second of a pair runs on a warmer page cache.
    const order = round % 2 === 0 ? ['cli', 'page'] : ['page', 'cli'];
    const pair = { bytes };
    for (const who of order) pair[who] = await run[who]();
    pair.ratio = pair.page / pair.cli;
    log(
      `upload round ${round}: cli ${pair.cli.toFixed(0)} ms, page ${pair.page.toFixed(0)} ms, ratio ${pair.ratio.toFixed(2)}`,
    );
    pairs.push(pair);
    rmSync(files, { recursive: true, force: true });
  }
  return {
    provider: s3 ? `s3 ${s3.endpoint}` : 'local',
    files: UPLOAD_FILES,
    cliMedianMs: median(pairs.map((p) => p.cli)),
    pageMedianMs: median(pairs.map((p) => p.page)),
    ratioMedian: median(pairs.map((p) => p.ratio)),
    pickingMedianMs: median(picking),
    pairs,
  };
}

/** The test server's memstore is RAM: every bucket made here goes, objects first. */
async function deleteBuckets() {
  for (const bucket of buckets) {
    for (;;) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
}

const browser = await chromium.launch({
  executablePath: execFileSync('bash', [join(root, 'scripts/browser.sh'), 'ensure'], { encoding: 'utf8' }).trim(),
  headless: true,
  args: ['--no-sandbox'],
});
try {
  log('ready…');
  const readyResult = await ready();
  log(`ready: ${readyResult.medianMs.toFixed(0)} ms; flat folder of ${FLAT_FILES} files…`);
  const flat = await flatFolder();
  log(`flat: first ${flat.first.medianMs} ms, last ${flat.last.medianMs} ms; uploads…`);
  const upload = await uploads(browser);
  const result = { at: new Date().toISOString(), rounds: ROUNDS, ready: readyResult, flat, upload };
  const out = join(root, 'bench/results', `ui-${result.at.replace(/:/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await deleteBuckets();
  rmSync(base, { recursive: true, force: true });
}
