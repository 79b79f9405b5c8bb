// One repetition of W1–W4 (W5 and W6: smallfiles.js; the gc scenario: gc.js). Every repetition
// writes into fresh buckets, a fresh STRATA_HOME and fresh caches, so nothing is skipped as already
// stored. ctx: { tools, runDir, data, sel, rec, check, figure, log }.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bucketUsage,
  checkDiff,
  checkPut,
  checkStored,
  checkTree,
  getArgs,
  mb,
  putArgs,
  rssMB,
  scratch,
} from './common.js';
import { PEER_FLAGS } from './tools.js';
import { run } from './proc.js';
import { NODE_FLOOR } from './report.js';

const COPY_FLOOR = new URL('./copy-floor.cjs', import.meta.url).pathname;
const LINK_FLOOR = new URL('./link-floor.cjs', import.meta.url).pathname;

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
    const put = await tools.strata(home, join(dir, 'cache-put'), putArgs(v1, work), { rssFile: join(dir, 'rss') });
    if (sel.W1 || sel.W3) ctx.rec('W1 put', 'strata', rep, put.seconds, { result: put.json, rssKiB: put.rssKiB });
    if (sel.RSS10k) ctx.rec('RSS W1 put (10k files)', 'strata', rep, null, { rssMB: rssMB(put) });
    checkPut(ctx, `W1 put strata rep ${rep}`, put.json, W1);
    await checkStored(ctx, `W1 put strata rep ${rep}`, bucket, W1.bytes);
    if (!(sel.W1 || sel.W3 || sel.W4)) return;
    await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v1]);

    const cache = join(dir, 'cache');
    const get = (out, extra) => tools.strata(home, cache, getArgs(v1, join(dir, out), extra));
    if (sel.W1 || sel.W4) {
      const cold = await get('out-cold');
      if (sel.W1) ctx.rec('W1 get', 'strata', rep, cold.seconds, { result: cold.json });
      if (sel.W4) ctx.rec('W4 cold', 'strata', rep, cold.seconds, { result: cold.json, sameRunAs: 'W1 get' });
      checkTree(ctx, `W1 get strata rep ${rep}`, join(dir, 'out-cold'), W1);
    }
    if (sel.W4) {
      // Each reference copy runs just before the Strata run it is compared with, on the same
      // filesystem in the same state (bench/README.md says why). After Strata runs Node's floor
      // for the same mode (for the report): a bare Node program doing only the file work Strata
      // must do, from the version's file list. Hardlinked trees share the cache's read-only inodes.
      const list = join(dir, 'files.json');
      const listed = await tools.strata(home, null, ['datasets', 'files', 'list', '--id', v1, '--recursive']);
      writeFileSync(list, JSON.stringify(listed.json.filter((f) => f.type === 'file')));
      const floor = async (workload, script, out, modes) => {
        const f = await run(process.execPath, [script, cache, list, join(dir, out)], { settle: true });
        ctx.rec(workload, NODE_FLOOR, rep, f.seconds);
        checkTree(ctx, `${workload} ${NODE_FLOOR} rep ${rep}`, join(dir, out), W1, { modes });
      };
      const r = await run('cp', ['-r', W1.dir, join(dir, 'cp-r')], { settle: true });
      ctx.rec('W4 warm default', 'cp -r', rep, r.seconds);
      checkTree(ctx, `W4 cp -r rep ${rep}`, join(dir, 'cp-r'), W1);
      const warm = await get('out-warm');
      ctx.rec('W4 warm default', 'strata', rep, warm.seconds, { result: warm.json });
      checkTree(ctx, `W4 warm default strata rep ${rep}`, join(dir, 'out-warm'), W1);
      // The cold and warm gets cached the packed blobs in pack files: the first hardlink get makes
      // a blob file of each (shown, not judged); the warm hardlink get links blob files.
      const first = await get('out-hardlink-first', ['--link', 'hardlink']);
      ctx.rec('W4 first hardlink', 'strata', rep, first.seconds, { result: first.json });
      checkTree(ctx, `W4 first hardlink strata rep ${rep}`, join(dir, 'out-hardlink-first'), W1, { modes: false });
      const al = await run('cp', ['-al', W1.dir, join(dir, 'cp-al')], { settle: true });
      ctx.rec('W4 warm hardlink', 'cp -al', rep, al.seconds);
      const hard = await get('out-hardlink', ['--link', 'hardlink']);
      ctx.rec('W4 warm hardlink', 'strata', rep, hard.seconds, { result: hard.json });
      checkTree(ctx, `W4 warm hardlink strata rep ${rep}`, join(dir, 'out-hardlink'), W1, { modes: false });
      // The floors read blob files, which the first hardlink get made.
      await floor('W4 warm default', COPY_FLOOR, 'floor-copy', true);
      await floor('W4 warm hardlink', LINK_FLOOR, 'floor-link', false);
    }
    if (sel.W3) await strataW3(ctx, rep, { dir, home, bucket, work, v1, w1PutSeconds: put.seconds });
  });
}

/**
 * W3: WORK's 100 files overwritten in place from W3/, put into a new version; it must upload those
 * files' bytes alone (the bucket is listed before and after: the files' bytes it gains must be
 * theirs); then the diff against W1's version must list exactly those paths.
 */
async function strataW3(ctx, rep, { dir, home, bucket, work, v1, w1PutSeconds }) {
  const { tools } = ctx;
  const W3 = ctx.data.W3;
  const v3 = await tools.newVersion(home, 'w1');
  changeInPlace(work, W3);
  const before = await bucketUsage(ctx, bucket);
  const put3 = await tools.strata(home, join(dir, 'cache-put'), putArgs(v3, work));
  const after = await bucketUsage(ctx, bucket);
  const grew = Object.fromEntries(['bytes', 'content', 'tables', 'other'].map((k) => [k, after[k] - before[k]]));
  ctx.rec('W3 put', 'strata', rep, put3.seconds, { result: put3.json, w1PutSeconds, bucketGrowth: grew });
  const p = put3.json;
  ctx.check(
    `W3 put strata rep ${rep}: uploads only the 100 changed files`,
    p.files === W3.files && p.bytes === W3.bytes && p.bytesUploaded === W3.changedBytes,
    `files ${p.files}, bytes ${p.bytes}, uploaded ${p.bytesUploaded} (changed: ${W3.changedBytes}), skipped ${p.bytesSkipped}`,
  );
  ctx.check(
    `W3 put strata rep ${rep}: the bucket grew by the changed files' bytes plus metadata`,
    grew.content === W3.changedBytes,
    `files' bytes +${grew.content} (changed: ${W3.changedBytes}), pack tables +${grew.tables}, other +${grew.other}`,
  );
  ctx.figure(
    `W3 put strata rep ${rep}`,
    `uploaded ${mb(p.bytesUploaded)}; the bucket grew ${mb(grew.bytes)}: files ${mb(grew.content)} (the 100 changed: ${mb(W3.changedBytes)}), pack tables ${mb(grew.tables)}, manifests and drafts ${mb(grew.other)}`,
    { bytesUploaded: p.bytesUploaded, changedBytes: W3.changedBytes, bucketGrowth: grew },
  );
  await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v3]);
  const diff = (await tools.strata(home, null, ['datasets', 'versions', 'diff', '--id', v1, '--to', v3])).json;
  checkDiff(ctx, `W3 diff rep ${rep}`, diff, W3.changedPaths);
}

/** rclone or aws-cli: W1 up into a fresh bucket, then down into an empty directory. */
export async function peerW1(ctx, rep, tool) {
  const { tools, sel, data } = ctx;
  const onRun = async (dir, bucket) => {
    const out = join(dir, 'out');
    let up, down;
    if (tool === 'rclone') {
      up = await tools.rclone(['copy', data.W1.dir, `bench:${bucket}/w1`, ...PEER_FLAGS]);
      down = await tools.rclone(['copy', `bench:${bucket}/w1`, out, ...PEER_FLAGS]);
    } else {
      up = await tools.aws(['s3', 'cp', '--recursive', data.W1.dir, `s3://${bucket}/w1`]);
      down = await tools.aws(['s3', 'cp', '--recursive', `s3://${bucket}/w1`, out]);
    }
    if (sel.W1) ctx.rec('W1 put', tool, rep, up.seconds);
    if (sel.W1) ctx.rec('W1 get', tool, rep, down.seconds);
    if (sel.W4 && tool === 'rclone') ctx.rec('W4 cold', tool, rep, down.seconds, { sameRunAs: 'W1 get' });
    await checkStored(ctx, `W1 put ${tool} rep ${rep}`, bucket, data.W1.bytes);
    checkTree(ctx, `W1 get ${tool} rep ${rep}`, out, data.W1);
  };
  await scratch(ctx, `${tool}-w1-r${rep}`, onRun, { keepBucket: true });
}

/**
 * restic on W1: `init` untimed; `backup .` from inside a working copy of W1 (made untimed, as
 * Strata's; so a restore lands at OUT itself, not under W1's absolute path); `restore latest` with
 * a cache directory of its own, empty: a cold get. W3: the working copy changed in place as
 * Strata's, backed up again into the same repository with the backup's cache.
 */
export async function resticW1(ctx, rep) {
  const { tools, sel, data } = ctx;
  await scratch(ctx, `restic-w1-r${rep}`, async (dir, bucket) => {
    const [work, out] = [join(dir, 'work'), join(dir, 'out')];
    await tools.restic(bucket, join(dir, 'cache-init'), ['init']);
    await run('cp', ['-r', data.W1.dir, work]);
    const backup = () => tools.restic(bucket, join(dir, 'cache-backup'), ['backup', '.'], { cwd: work });
    const up = await backup();
    ctx.rec('W1 put', 'restic', rep, up.seconds);
    await checkStored(ctx, `W1 put restic rep ${rep}`, bucket, data.W1.bytes);
    if (sel.W1) {
      const down = await tools.restic(bucket, join(dir, 'cache-restore'), ['restore', 'latest', '--target', out]);
      ctx.rec('W1 get', 'restic', rep, down.seconds);
      checkTree(ctx, `W1 get restic rep ${rep}`, out, data.W1);
    }
    if (sel.W3) {
      changeInPlace(work, data.W3);
      const again = await backup();
      ctx.rec('W3 put', 'restic', rep, again.seconds, { w1PutSeconds: up.seconds });
    }
  });
}

/** W2: one big file, put then get (cold), by one tool. */
export async function bigFile(ctx, rep, tool) {
  const { tools, data } = ctx;
  const W2 = data.W2;
  await scratch(ctx, `${tool}-w2-r${rep}`, async (dir, bucket) => {
    const out = join(dir, 'out');
    let up, down;
    if (tool === 'strata') {
      const home = join(dir, 'home');
      await tools.strataSetup(home, bucket, 'w2');
      const v = await tools.newVersion(home, 'w2');
      up = await tools.strata(home, join(dir, 'cache-put'), putArgs(v, W2.dir));
      checkPut(ctx, `W2 put strata rep ${rep}`, up.json, W2);
      await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v]);
      down = await tools.strata(home, join(dir, 'cache'), getArgs(v, out));
    } else if (tool === 'rclone') {
      up = await tools.rclone(['copy', W2.dir, `bench:${bucket}/w2`, ...PEER_FLAGS]);
      down = await tools.rclone(['copy', `bench:${bucket}/w2`, out, ...PEER_FLAGS]);
    } else {
      up = await tools.aws(['s3', 'cp', '--recursive', W2.dir, `s3://${bucket}/w2`]);
      down = await tools.aws(['s3', 'cp', '--recursive', `s3://${bucket}/w2`, out]);
    }
    ctx.rec('W2 put', tool, rep, up.seconds, up.json ? { result: up.json } : {});
    ctx.rec('W2 get', tool, rep, down.seconds, down.json ? { result: down.json } : {});
    await checkStored(ctx, `W2 put ${tool} rep ${rep}`, bucket, W2.bytes);
    checkTree(ctx, `W2 get ${tool} rep ${rep}`, out, W2);
  });
}
