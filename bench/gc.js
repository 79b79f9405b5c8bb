// The gc scenario (GC): ten versions of W1, each after the first rewriting a tenth of its files (at
// random, as a dataset that is cleaned and relabelled changes); the
// five oldest deleted; `strata gc` run twice as if 25 hours later (STRATA_TEST_NOW, past the default
// 24 h grace); then what it freed of the dead bytes, what it rewrote, and every remaining version
// verified deep. ctx: see workloads.js.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bucketUsage, checkStored, mb, putArgs, scratch } from './common.js';
import { changedIndices, writeChanged } from './gen.js';

const VERSIONS = 10;
const LATER_MS = 25 * 3600 * 1000;
/** of the dead bytes, what gc must free (issue 18) */
const FREED_TARGET = 0.9;

/** The distinct blobs of these versions, sha256 → size, from their recursive listings. */
async function liveBlobs(strata, refs) {
  const live = new Map();
  for (const ref of refs)
    for (const f of (await strata(['datasets', 'files', 'list', '--id', ref, '--recursive'])).json)
      if (f.type === 'file') live.set(f.sha256, f.size);
  return live;
}

/** Each pack's table in the bucket (aws s3 cp of packs/*.json into DEST): pack id → [[sha256, offset, size]]. */
async function packTables(ctx, bucket, dest) {
  mkdirSync(dest, { recursive: true });
  await ctx.tools.aws([
    's3',
    'cp',
    '--recursive',
    `s3://${bucket}/packs/`,
    dest,
    '--exclude',
    '*',
    '--include',
    '*.json',
  ]);
  const tables = new Map();
  for (const path of readdirSync(dest, { recursive: true }))
    if (path.endsWith('.json')) tables.set(basename(path, '.json'), JSON.parse(readFileSync(join(dest, path))).blobs);
  return tables;
}

/**
 * Version 1 is W1; version k (2–10) is made `--from` version k−1 and rewrites 1,000 of W1's files
 * (10 %, chosen at random, seeded by k; new content, same paths and sizes), put from a tree of
 * those files alone. Versions 1–5 are deleted (`--force`). Dead bytes: the content the bucket holds
 * then (packs and loose blobs; not tables or manifests), less the live bytes (the distinct blobs of
 * versions 6–10); freed: the content before gc less after.
 * Rewritten: both runs' packs.rewrittenBytes, against the live bytes of the packs gone after them
 * (from their tables, read before gc), which a repack must copy and nothing else.
 */
export async function strataGC(ctx, rep) {
  const { tools } = ctx;
  const W1 = ctx.data.W1;
  const tenth = W1.files / 10;
  await scratch(ctx, `strata-gc-r${rep}`, async (dir, bucket) => {
    const home = join(dir, 'home');
    const strata = (args, opts) => tools.strata(home, null, args, opts);
    await tools.strataSetup(home, bucket, 'gc');
    const refs = [];
    let bytes = W1.bytes;
    for (let k = 1; k <= VERSIONS; k++) {
      const v = await tools.newVersion(home, 'gc', refs.at(-1));
      const src = k === 1 ? W1.dir : join(dir, `v${k}`);
      if (k > 1) bytes += writeChanged(src, W1, changedIndices(W1.files, tenth, k), k).bytes;
      await strata(putArgs(v, src));
      await strata(['datasets', 'versions', 'commit', '--id', v]);
      if (k > 1) rmSync(src, { recursive: true, force: true });
      refs.push(v);
    }
    await checkStored(ctx, `GC puts rep ${rep}`, bucket, bytes);
    const [deleted, kept] = [refs.slice(0, VERSIONS / 2), refs.slice(VERSIONS / 2)];
    for (const v of deleted) await strata(['datasets', 'versions', 'delete', '--id', v, '--force']);

    const live = await liveBlobs(strata, kept);
    const liveBytes = [...live.values()].reduce((n, s) => n + s, 0);
    const tables = await packTables(ctx, bucket, join(dir, 'tables'));
    const before = await bucketUsage(ctx, bucket);
    const gc = (run) => {
      const env = { STRATA_TEST_NOW: new Date(Date.now() + LATER_MS).toISOString() };
      return strata(['gc', '--storageProviderId', 'bench'], { env, rssFile: join(dir, `rss${run}`) });
    };
    const first = await gc(1);
    ctx.rec('GC gc 1 (repack)', 'strata', rep, first.seconds, { result: first.json, rssKiB: first.rssKiB });
    const second = await gc(2);
    ctx.rec('GC gc 2 (remove)', 'strata', rep, second.seconds, { result: second.json, rssKiB: second.rssKiB });
    const after = await bucketUsage(ctx, bucket);

    const dead = before.content - liveBytes;
    const freed = before.content - after.content;
    const rewritten = first.json.packs.rewrittenBytes + second.json.packs.rewrittenBytes;
    const gone = before.packIds.filter((id) => !after.packIds.includes(id));
    const liveGone = gone
      .flatMap((id) => tables.get(id) ?? [])
      .reduce((n, [sha256, , size]) => n + (live.has(sha256) ? size : 0), 0);
    const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}×` : '—');
    const pass = dead > 0 && freed / dead >= FREED_TARGET;
    ctx.figure(
      `GC rep ${rep}`,
      `dead ${mb(dead)} of ${mb(before.content)} of content stored (live ${mb(liveBytes)}); freed ${mb(freed)} = ` +
        `${((100 * freed) / dead).toFixed(1)} % of the dead (target ≥ ${100 * FREED_TARGET} %: ${pass ? 'PASS' : 'FAIL'}); ` +
        `rewritten ${mb(rewritten)} = ${ratio(rewritten, liveGone)} the live bytes of the ${gone.length} packs removed ` +
        `(${mb(liveGone)}), ${ratio(rewritten, liveBytes)} all live bytes; still stored beyond the live bytes ` +
        `${mb(after.content - liveBytes)} of content, besides pack tables ${mb(after.tables)} and manifests ${mb(after.other)}`,
      { contentBefore: before.content, contentAfter: after.content, liveBytes, dead, freed, rewritten, liveGone, pass },
    );
    for (const v of kept) {
      let ok = false;
      let detail;
      try {
        const r = (await strata(['datasets', 'versions', 'verify', '--id', v, '--deep'])).json;
        [ok, detail] = [r.files === W1.files, `${r.files} files, ${r.blobs} blobs, ${r.bytes} bytes`];
      } catch (e) {
        detail = e.message;
      }
      ctx.check(`GC rep ${rep}: versions verify --deep ${v} passes after gc`, ok, detail);
    }
  });
}
