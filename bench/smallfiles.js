// W5 (100,000 files of 1–4 KiB: Strata and restic, put and cold get) and W6 (1,000,000 files of
// 0.5–2 KiB: Strata's put, cold get, recursive listing and diff), every command under GNU time for
// its peak RSS. ctx: see workloads.js.
import { join } from 'node:path';
import { checkDiff, checkPut, checkStored, checkTree, discard, getArgs, putArgs, rssMB, scratch } from './common.js';
import { writeChanged } from './gen.js';

/** Strata on W5: put, commit, cold get (empty cache). With RSS alone selected (`--only RSS`), the put only. */
export async function strataW5(ctx, rep) {
  const { tools, sel } = ctx;
  const W5 = ctx.data.W5;
  await scratch(ctx, `strata-w5-r${rep}`, async (dir, bucket) => {
    const [home, rssFile, out] = [join(dir, 'home'), join(dir, 'rss'), join(dir, 'out')];
    await tools.strataSetup(home, bucket, 'w5');
    const v = await tools.newVersion(home, 'w5');
    const put = await tools.strata(home, join(dir, 'cache-put'), putArgs(v, W5.dir), { rssFile });
    ctx.rec('W5 put', 'strata', rep, put.seconds, { result: put.json, rssKiB: put.rssKiB });
    if (sel.RSS100k) ctx.rec('RSS W5 put (100k files)', 'strata', rep, null, { rssMB: rssMB(put) });
    checkPut(ctx, `W5 put strata rep ${rep}`, put.json, W5);
    await checkStored(ctx, `W5 put strata rep ${rep}`, bucket, W5.bytes);
    if (!sel.W5) return;
    await tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v]);
    const get = await tools.strata(home, join(dir, 'cache'), getArgs(v, out), { rssFile });
    ctx.rec('W5 get', 'strata', rep, get.seconds, { result: get.json, rssKiB: get.rssKiB });
    checkTree(ctx, `W5 get strata rep ${rep}`, out, W5);
  });
}

/**
 * restic on W5 as on W1 (workloads.js: `init` untimed, `backup .` from inside the tree, `restore
 * latest` with an empty cache directory), into a fresh repository in its own bucket.
 */
export async function resticW5(ctx, rep) {
  const { tools } = ctx;
  const W5 = ctx.data.W5;
  await scratch(ctx, `restic-w5-r${rep}`, async (dir, bucket) => {
    const [rssFile, out] = [join(dir, 'rss'), join(dir, 'out')];
    await tools.restic(bucket, join(dir, 'cache-init'), ['init']);
    const up = await tools.restic(bucket, join(dir, 'cache-backup'), ['backup', '.'], { cwd: W5.dir, rssFile });
    ctx.rec('W5 put', 'restic', rep, up.seconds, { rssKiB: up.rssKiB });
    await checkStored(ctx, `W5 put restic rep ${rep}`, bucket, W5.bytes);
    const restore = ['restore', 'latest', '--target', out];
    const down = await tools.restic(bucket, join(dir, 'cache-restore'), restore, { rssFile });
    ctx.rec('W5 get', 'restic', rep, down.seconds, { rssKiB: down.rssKiB });
    checkTree(ctx, `W5 get restic rep ${rep}`, out, W5);
  });
}

/** A W6 command still running after this long is killed, and W6's step fails (the listing is last). */
const W6_LIMIT_SECONDS = 1800;

/**
 * Strata on W6: put, commit, cold get (its target and cache discarded once the tree is checked:
 * a million files each), a version made `--from` the first with 1 % of the files rewritten (put from
 * a tree of those files alone) and `versions diff` between the two; last `files list --recursive`
 * as text, its lines counted as they come (the time to the first, and to the end).
 */
export async function strataW6(ctx, rep) {
  const { tools } = ctx;
  const W6 = ctx.data.W6;
  await scratch(ctx, `strata-w6-r${rep}`, async (dir, bucket) => {
    const [home, out, cache, changedDir] = ['home', 'out', 'cache', 'changed'].map((name) => join(dir, name));
    const timed = { rssFile: join(dir, 'rss'), limitSeconds: W6_LIMIT_SECONDS };
    const commit = (v) => tools.strata(home, null, ['datasets', 'versions', 'commit', '--id', v]);
    await tools.strataSetup(home, bucket, 'w6');
    const v1 = await tools.newVersion(home, 'w6');
    const put = await tools.strata(home, join(dir, 'cache-put'), putArgs(v1, W6.dir), timed);
    ctx.rec('W6 put', 'strata', rep, put.seconds, { result: put.json, rssKiB: put.rssKiB });
    checkPut(ctx, `W6 put strata rep ${rep}`, put.json, W6);
    await checkStored(ctx, `W6 put strata rep ${rep}`, bucket, W6.bytes);
    await commit(v1);
    const get = await tools.strata(home, cache, getArgs(v1, out), timed);
    ctx.rec('W6 get', 'strata', rep, get.seconds, { result: get.json, rssKiB: get.rssKiB });
    checkTree(ctx, `W6 get strata rep ${rep}`, out, W6);
    for (const d of [out, cache]) discard(ctx, d);

    const changed = writeChanged(changedDir, W6, W6.files / 100, 1);
    const v2 = await tools.newVersion(home, 'w6', v1);
    const put2 = await tools.strata(home, join(dir, 'cache-put'), putArgs(v2, changedDir), timed);
    ctx.rec('W6 put 1 %', 'strata', rep, put2.seconds, { result: put2.json, rssKiB: put2.rssKiB });
    checkPut(ctx, `W6 put 1 % strata rep ${rep}`, put2.json, { files: changed.paths.length, bytes: changed.bytes });
    await commit(v2);
    const diff = await tools.strata(home, null, ['datasets', 'versions', 'diff', '--id', v1, '--to', v2], timed);
    ctx.rec('W6 diff', 'strata', rep, diff.seconds, { rssKiB: diff.rssKiB });
    checkDiff(ctx, `W6 diff rep ${rep}`, diff.json, changed.paths);

    const list = await tools.strataLines(home, ['datasets', 'files', 'list', '--id', v1, '--recursive'], timed);
    if (list.firstLineSeconds !== null) ctx.rec('W6 list (first line)', 'strata', rep, list.firstLineSeconds);
    ctx.rec('W6 list', 'strata', rep, list.seconds, { lines: list.lines, rssKiB: list.rssKiB });
    // The table's frame: a rule above the header, the header, a rule below the last row.
    const FRAME = 3;
    ctx.check(
      `W6 list strata rep ${rep}: one line per file (and the table's ${FRAME} lines of frame)`,
      list.lines === W6.files + FRAME,
      `${list.lines} lines`,
    );
  });
}
