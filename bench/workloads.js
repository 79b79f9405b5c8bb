// One repetition of each workload. Every repetition writes into fresh buckets, a fresh STRATA_HOME
// and fresh caches, so nothing is skipped as already stored; buckets are removed when a step ends
// (the server keeps objects in RAM). ctx: { tools, runDir, data, sel, rec, check, log }.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { census } from './gen.js';
import { PEER_FLAGS } from './tools.js';
import { run } from './proc.js';
import { NODE_FLOOR } from './report.js';

const COPY_FLOOR = new URL('./copy-floor.cjs', import.meta.url).pathname;
const LINK_FLOOR = new URL('./link-floor.cjs', import.meta.url).pathname;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const rssMB = (r) => (r.rssKiB === undefined ? null : (r.rssKiB * 1024) / 1e6);

/**
 * A scratch directory and a fresh bucket for one step. The directory goes afterwards; the bucket too
 * when `dropBucket` (the 1 GiB ones: the server holds objects in RAM; small-file buckets stay until
 * the server stops, since purging 10,000 objects costs ~20 s of server CPU between timed runs).
 */
async function scratch(ctx, name, fn, dropBucket = false) {
  const dir = join(ctx.runDir, name);
  mkdirSync(dir, { recursive: true });
  const bucket = name.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  await ctx.tools.mkBucket(bucket);
  try {
    return await fn(dir, bucket);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (dropBucket) await ctx.tools.rmBucket(bucket);
  }
}

/** "bytes stored = data size": a fresh bucket must take every byte. */
function checkPut(ctx, what, put, data) {
  const ok = put.bytes === data.bytes && put.bytesUploaded === data.bytes && put.bytesSkipped === 0;
  const detail = `files ${put.files}/${data.files}, bytes ${put.bytes}, uploaded ${put.bytesUploaded}, skipped ${put.bytesSkipped}, data ${data.bytes}`;
  ctx.check(`${what}: bytes stored = data size`, ok && put.files === data.files, detail);
}

/** A get must leave exactly the tree: same file count and byte total. */
function checkTree(ctx, what, dir, data) {
  const c = census(dir);
  ctx.check(
    `${what}: wrote ${data.files} files, ${mb(data.bytes)}`,
    c.files === data.files && c.bytes === data.bytes,
    `found ${c.files} files, ${c.bytes} bytes`,
  );
}

/** W3's change: its 100 files written over the working copy's, in place (same inode, same size). */
function changeInPlace(work, W3) {
  for (const path of W3.changedPaths) writeFileSync(join(work, path), readFileSync(join(W3.dir, path)), { flag: 'r+' });
}

/**
 * Strata on W1 in one STRATA_HOME: put (under GNU time for peak RSS), commit, cold get (empty cache;
 * this run is both "W1 get" and "W4 cold"), warm gets (W4), then W3 as a new version, and the diff.
 * The put reads a working copy of W1 (made untimed), which W3 then changes in place: the way a user
 * edits 1 % of a dataset and puts it again.
 */
export async function strataW1(ctx, rep) {
  const { tools, sel, data } = ctx;
  const W1 = data.W1;
  await scratch(ctx, `strata-w1-r${rep}`, async (dir, bucket) => {
    const home = join(dir, 'home');
    await tools.strataSetup(home, bucket, 'w1');
    const v1 = await tools.newVersion(home, 'w1');
    const work = join(dir, 'work');
    await run('cp', ['-r', W1.dir, work]);
    const putArgs = (ref, src) => ['datasets', 'files', 'put', '--id', ref, '--source-path', `${src}/`];
    const put = await tools.strata(home, join(dir, 'cache-put'), putArgs(v1, work), { rssFile: join(dir, 'rss') });
    if (sel.W1 || sel.W3) ctx.rec('W1 put', 'strata', rep, put.seconds, { result: put.json, rssKiB: put.rssKiB });
    if (sel.RSS10k) ctx.rec('RSS W1 put (10k files)', 'strata', rep, null, { rssMB: rssMB(put) });
    checkPut(ctx, `W1 put strata rep ${rep}`, put.json, W1);
    if (!(sel.W1 || sel.W3 || sel.W4)) return;
    await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v1]);

    const cache = join(dir, 'cache');
    const get = async (out, extra = []) => {
      const args = ['datasets', 'files', 'get', '--id', v1, '--target-path', join(dir, out), ...extra];
      return tools.strata(home, cache, args);
    };
    if (sel.W1 || sel.W4) {
      const cold = await get('out-cold');
      if (sel.W1) ctx.rec('W1 get', 'strata', rep, cold.seconds, { result: cold.json });
      if (sel.W4) ctx.rec('W4 cold', 'strata', rep, cold.seconds, { result: cold.json, sameRunAs: 'W1 get' });
      checkTree(ctx, `W1 get strata rep ${rep}`, join(dir, 'out-cold'), W1);
    }
    if (sel.W4) {
      // Each reference copy runs just before the Strata run it is compared with, on the same
      // filesystem in the same state: file creation on ext4 slows down for a minute or more after
      // a large tree is deleted, and other steps delete trees. Just after Strata runs Node's floor
      // for the same mode (for the report): a bare Node program doing only the file work Strata
      // must do, from the version's file list.
      const list = join(dir, 'files.json');
      const listed = await tools.strata(home, null, ['datasets', 'files', 'list', '--id', v1, '--recursive']);
      writeFileSync(list, JSON.stringify(listed.json.filter((f) => f.type === 'file')));
      const floor = async (workload, script, out) => {
        const f = await run(process.execPath, [script, cache, list, join(dir, out)], { settle: true });
        ctx.rec(workload, NODE_FLOOR, rep, f.seconds);
        checkTree(ctx, `${workload} ${NODE_FLOOR} rep ${rep}`, join(dir, out), W1);
      };
      const r = await run('cp', ['-r', W1.dir, join(dir, 'cp-r')], { settle: true });
      ctx.rec('W4 warm default', 'cp -r', rep, r.seconds);
      checkTree(ctx, `W4 cp -r rep ${rep}`, join(dir, 'cp-r'), W1);
      const warm = await get('out-warm');
      ctx.rec('W4 warm default', 'strata', rep, warm.seconds, { result: warm.json });
      checkTree(ctx, `W4 warm default strata rep ${rep}`, join(dir, 'out-warm'), W1);
      await floor('W4 warm default', COPY_FLOOR, 'floor-copy');
      const al = await run('cp', ['-al', W1.dir, join(dir, 'cp-al')], { settle: true });
      ctx.rec('W4 warm hardlink', 'cp -al', rep, al.seconds);
      const hard = await get('out-hardlink', ['--link', 'hardlink']);
      ctx.rec('W4 warm hardlink', 'strata', rep, hard.seconds, { result: hard.json });
      checkTree(ctx, `W4 warm hardlink strata rep ${rep}`, join(dir, 'out-hardlink'), W1);
      await floor('W4 warm hardlink', LINK_FLOOR, 'floor-link');
    }
    if (sel.W3) {
      const W3 = data.W3;
      const v3 = await tools.newVersion(home, 'w1');
      changeInPlace(work, W3);
      const put3 = await tools.strata(home, join(dir, 'cache-put'), putArgs(v3, work));
      ctx.rec('W3 put', 'strata', rep, put3.seconds, { result: put3.json, w1PutSeconds: put.seconds });
      const p = put3.json;
      ctx.check(
        `W3 put strata rep ${rep}: uploads only the 100 changed files`,
        p.files === W3.files && p.bytes === W3.bytes && p.bytesUploaded === W3.changedBytes,
        `files ${p.files}, bytes ${p.bytes}, uploaded ${p.bytesUploaded} (changed: ${W3.changedBytes}), skipped ${p.bytesSkipped}`,
      );
      await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v3]);
      const diff = (await tools.strata(home, null, ['datasets', 'versions', 'diff', '--id', v1, '--to', v3])).json;
      const strip = (paths) => (paths ?? []).map((x) => (typeof x === 'string' ? x.replace(/^\/+/, '') : x)).sort();
      const changed = strip(diff.changed);
      const want = [...W3.changedPaths].sort();
      const ok =
        JSON.stringify(changed) === JSON.stringify(want) &&
        [diff.added, diff.removed, diff.renamed].every((l) => Array.isArray(l) && l.length === 0);
      ctx.check(
        `W3 diff rep ${rep}: changed = exactly the 100 rewritten paths, nothing added/removed/renamed`,
        ok,
        `changed ${changed.length} (${changed.filter((c) => !want.includes(c)).length} unexpected), added ${diff.added?.length}, removed ${diff.removed?.length}, renamed ${diff.renamed?.length}`,
      );
    }
  });
}

/** rclone or aws-cli: W1 up into a fresh bucket, then down into an empty directory. */
export async function peerW1(ctx, rep, tool) {
  const { tools, sel, data } = ctx;
  await scratch(ctx, `${tool}-w1-r${rep}`, async (dir, bucket) => {
    const out = join(dir, 'out');
    let up, down;
    if (tool === 'rclone') {
      up = await tools.rclone(['copy', data.W1.dir, `bench:${bucket}/w1`, ...PEER_FLAGS]);
      down = await tools.rclone(['copy', `bench:${bucket}/w1`, out, ...PEER_FLAGS]);
    } else if (tool === 'restic') {
      // init untimed; backup from inside W1 (so restore lands at out/, not under W1's absolute path);
      // restore with a cache directory of its own, empty: a cold get.
      await tools.restic(bucket, join(dir, 'cache-init'), ['init']);
      up = await tools.restic(bucket, join(dir, 'cache-backup'), ['backup', '.'], { cwd: data.W1.dir });
      down = await tools.restic(bucket, join(dir, 'cache-restore'), ['restore', 'latest', '--target', out]);
    } else {
      up = await tools.aws(['s3', 'cp', '--recursive', data.W1.dir, `s3://${bucket}/w1`]);
      down = await tools.aws(['s3', 'cp', '--recursive', `s3://${bucket}/w1`, out]);
    }
    if (sel.W1) ctx.rec('W1 put', tool, rep, up.seconds);
    if (sel.W1) ctx.rec('W1 get', tool, rep, down.seconds);
    if (sel.W4 && tool === 'rclone') ctx.rec('W4 cold', tool, rep, down.seconds, { sameRunAs: 'W1 get' });
    checkTree(ctx, `W1 get ${tool} rep ${rep}`, out, data.W1);
  });
}

/** W2: one big file, put then get (cold), by one tool. */
export async function bigFile(ctx, rep, tool) {
  const { tools, data } = ctx;
  const W2 = data.W2;
  await scratch(
    ctx,
    `${tool}-w2-r${rep}`,
    async (dir, bucket) => {
      const out = join(dir, 'out');
      let up, down;
      if (tool === 'strata') {
        const home = join(dir, 'home');
        await tools.strataSetup(home, bucket, 'w2');
        const v = await tools.newVersion(home, 'w2');
        up = await tools.strata(home, join(dir, 'cache-put'), [
          'datasets',
          'files',
          'put',
          '--id',
          v,
          '--source-path',
          `${W2.dir}/`,
        ]);
        checkPut(ctx, `W2 put strata rep ${rep}`, up.json, W2);
        await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v]);
        down = await tools.strata(home, join(dir, 'cache'), [
          'datasets',
          'files',
          'get',
          '--id',
          v,
          '--target-path',
          out,
        ]);
      } else if (tool === 'rclone') {
        up = await tools.rclone(['copy', W2.dir, `bench:${bucket}/w2`, ...PEER_FLAGS]);
        down = await tools.rclone(['copy', `bench:${bucket}/w2`, out, ...PEER_FLAGS]);
      } else {
        up = await tools.aws(['s3', 'cp', '--recursive', W2.dir, `s3://${bucket}/w2`]);
        down = await tools.aws(['s3', 'cp', '--recursive', `s3://${bucket}/w2`, out]);
      }
      ctx.rec('W2 put', tool, rep, up.seconds, up.json ? { result: up.json } : {});
      ctx.rec('W2 get', tool, rep, down.seconds, down.json ? { result: down.json } : {});
      checkTree(ctx, `W2 get ${tool} rep ${rep}`, out, W2);
    },
    true,
  );
}

/** W5: 100,000 small files; the put's peak RSS. */
export async function strataW5(ctx, rep) {
  const { tools, data } = ctx;
  await scratch(ctx, `strata-w5-r${rep}`, async (dir, bucket) => {
    const home = join(dir, 'home');
    await tools.strataSetup(home, bucket, 'w5');
    const v = await tools.newVersion(home, 'w5');
    const args = ['datasets', 'files', 'put', '--id', v, '--source-path', `${data.W5.dir}/`];
    const put = await tools.strata(home, join(dir, 'cache-put'), args, { rssFile: join(dir, 'rss') });
    ctx.rec('W5 put (100k files)', 'strata', rep, put.seconds, { result: put.json, rssKiB: put.rssKiB });
    ctx.rec('RSS W5 put (100k files)', 'strata', rep, null, { rssMB: rssMB(put) });
    checkPut(ctx, `W5 put strata rep ${rep}`, put.json, data.W5);
  });
}
