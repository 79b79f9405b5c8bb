#!/usr/bin/env node
// `npm run bench`: Strata against rclone, aws-cli and restic on one throwaway Ceph RGW (issues 4, 5
// and 18). node bench/run.js --help for the options.
// Prints a table of medians and ratios with the acceptance figures checked, and writes every raw
// timing to bench/results/<ISO time>.json. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './args.js';
import { DATA_DIR, ensureW1, ensureW2, ensureW3, ensureW5, ensureW6 } from './gen.js';
import { strataGC } from './gc.js';
import { REPO, ensureGnuTime, killChildren, snapshotStrata, startServer, stopServer } from './proc.js';
import { resticW5, strataW5, strataW6 } from './smallfiles.js';
import { Tools } from './tools.js';
import { bigFile, peerW1, resticW1, strataW1 } from './workloads.js';
import { judge, summarize, table } from './report.js';

/** The list starting at its `by`-th element, the ones before it moved to the end. */
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

const t0 = Date.now();
const LOAD_START = loadavg(); // other work on the machine shares its CPUs and disk: worth knowing
const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}`);
const opts = parseArgs(process.argv.slice(2));
const runDir = join(DATA_DIR, `.run-${process.pid}`); // same filesystem as the trees: cp -al and hardlinks work
let serverBase = null;

/** Stop what this run started: children's process groups, the server, the scratch directory. */
function cleanup() {
  killChildren();
  if (serverBase) stopServer(serverBase);
  serverBase = null;
  rmSync(runDir, { recursive: true, force: true });
}
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
]) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}: stopping children and the S3 server`);
    cleanup();
    process.exit(code);
  });
}

/** Scratch directories of earlier runs that were killed outright (their pid is gone). */
function removeStaleRuns() {
  if (!existsSync(DATA_DIR)) return;
  for (const name of readdirSync(DATA_DIR)) {
    const m = /^\.run-(\d+)$/.exec(name) ?? /^.+\.tmp-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(DATA_DIR, name), { recursive: true, force: true });
    }
  }
}

function versionOf(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0];
  } catch (e) {
    return `unknown (${e.message.split('\n')[0]})`;
  }
}

async function main() {
  const { sel } = opts;
  log(
    `workloads: ${Object.keys(sel)
      .filter((k) => sel[k])
      .join(', ')}; ${opts.reps} repetition(s)${opts.quick ? ' (quick)' : ''}`,
  );
  ensureGnuTime(log);
  removeStaleRuns();
  const data = {};
  if (sel.W6) data.W6 = await ensureW6(opts.w6Files, log); // first: it checks the disk has room
  if (sel.W1 || sel.W3 || sel.W4 || sel.RSS10k || sel.GC) data.W1 = await ensureW1(log);
  if (sel.W3) data.W3 = await ensureW3(log);
  if (sel.W2) data.W2 = await ensureW2(opts.w2Bytes, log);
  if (sel.W5 || sel.RSS100k) data.W5 = await ensureW5(log);
  for (const d of Object.values(data))
    log(`${d.name}: ${d.files} file(s), ${(d.bytes / 1e6).toFixed(1)} MB in ${d.dir}`);

  mkdirSync(runDir, { recursive: true });
  const strataBin = snapshotStrata(join(runDir, 'strata'), log);
  log(`Strata: a copy of the built CLI (dist/ as of now) in ${join(runDir, 'strata')}`);
  const memBytes = Number(process.env.S3_SERVER_MEMSTORE_BYTES) || 10 * 2 ** 30;
  serverBase = mkdtempSync(join(tmpdir(), 'strata-bench-s3-'));
  log(`starting Ceph RGW (memstore ${(memBytes / 2 ** 30).toFixed(1)} GiB) in ${serverBase}`);
  const server = await startServer(serverBase, memBytes);
  log(`S3 endpoint ${server.endpoint}`);

  const runs = [];
  const checks = [];
  const figures = [];
  const failures = [];
  const ctx = {
    tools: new Tools(server, runDir, strataBin),
    runDir,
    data,
    sel,
    rec(workload, tool, rep, seconds, extra = {}) {
      runs.push({ workload, tool, rep, seconds, ...extra });
      const what = seconds === null ? `${extra.rssMB?.toFixed(0)} MB peak RSS` : `${seconds.toFixed(2)} s`;
      log(`rep ${rep} ${workload} ${tool}: ${what}`);
    },
    check(name, ok, detail) {
      checks.push({ name, ok, detail });
      log(`${ok ? 'OK  ' : 'FAIL'} ${name} (${detail})`);
    },
    /** a measured figure that is not a time (bytes grown, freed, rewritten): printed at the end */
    figure(name, text, values) {
      figures.push({ name, text, ...values });
      log(`${name}: ${text}`);
    },
  };
  const step = async (rep, label, fn) => {
    try {
      await fn();
    } catch (e) {
      failures.push({ rep, step: label, command: e.line ?? null, error: e.message });
      log(`FAIL rep ${rep} ${label}: ${e.message}`);
    }
  };

  for (let rep = 1; rep <= opts.reps; rep++) {
    log(`--- repetition ${rep} of ${opts.reps}`);
    // Tools take turns going first: a tool that always ran first (or right after another's
    // deletions) would carry the server's and the filesystem's state for the others.
    const w1 = [
      (sel.W1 || sel.W3 || sel.W4 || sel.RSS10k) && ['strata W1/W3/W4', () => strataW1(ctx, rep)],
      (sel.W1 || sel.W4) && ['rclone W1', () => peerW1(ctx, rep, 'rclone')],
      sel.W1 && ['aws-cli W1', () => peerW1(ctx, rep, 'aws-cli')],
      (sel.W1 || sel.W3) && ['restic W1/W3', () => resticW1(ctx, rep)],
    ].filter(Boolean);
    for (const [label, fn] of rotate(w1, rep - 1)) await step(rep, label, fn);
    if (sel.W2)
      for (const tool of rotate(['strata', 'rclone', 'aws-cli'], rep - 1))
        await step(rep, `${tool} W2`, () => bigFile(ctx, rep, tool));
    const w5 = [
      (sel.W5 || sel.RSS100k) && ['strata W5', () => strataW5(ctx, rep)],
      sel.W5 && ['restic W5', () => resticW5(ctx, rep)],
    ].filter(Boolean);
    for (const [label, fn] of rotate(w5, rep - 1)) await step(rep, label, fn);
    if (sel.GC) await step(rep, 'strata GC', () => strataGC(ctx, rep));
    if (sel.W6 && rep === 1) await step(rep, 'strata W6', () => strataW6(ctx, rep));
  }

  const medians = summarize(runs);
  const verdicts = judge(medians);
  const totalSeconds = (Date.now() - t0) / 1000;
  console.log(
    `\nStrata vs rclone ${PEERS.rclone} / aws-cli ${PEERS.aws} / restic ${PEERS.restic}, ${opts.reps} repetition(s), medians:`,
  );
  for (const d of Object.values(data)) console.log(`  ${d.name}: ${d.files} file(s), ${(d.bytes / 1e6).toFixed(1)} MB`);
  const load = (l) => l.map((x) => x.toFixed(1)).join(' ');
  console.log(`  load average at start ${load(LOAD_START)}, at end ${load(loadavg())} (${cpus().length} CPUs)`);
  console.log(`\n${table(medians, verdicts)}\n`);
  for (const f of figures) console.log(`${f.name}: ${f.text}`);
  const bad = checks.filter((c) => !c.ok);
  console.log(`${figures.length ? '\n' : ''}checks: ${checks.length - bad.length} OK, ${bad.length} FAIL`);
  for (const c of checks)
    if (/bytes stored|uploads only|grew|diff|one line per file|verify/.test(c.name) || !c.ok)
      console.log(`  ${c.ok ? 'OK  ' : 'FAIL'} ${c.name}`);
  for (const f of failures) console.log(`FAILED STEP rep ${f.rep} ${f.step}:\n  ${f.error.split('\n').join('\n  ')}`);

  const resultsDir = join(REPO, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date(t0).toISOString().replace(/:/g, '-')}.json`);
  const environment = {
    node: process.version,
    rclone: PEERS.rclone,
    aws: PEERS.aws,
    restic: PEERS.restic,
    cpus: cpus().length,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    loadAverageStart: LOAD_START,
    loadAverageEnd: loadavg(),
    strataCommit: versionOf('git', ['-C', REPO, 'rev-parse', 'HEAD']),
    srcModified: versionOf('git', ['-C', REPO, 'status', '--porcelain', 'src']) !== '',
  };
  const json = {
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date().toISOString(),
    totalSeconds,
    argv: process.argv.slice(2),
    options: opts,
    environment,
    server: { endpoint: server.endpoint, memstoreBytes: memBytes },
    data,
    runs,
    medians,
    acceptance: verdicts,
    figures,
    checks,
    failures,
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  log(`results: ${file}`);
  log(`total ${totalSeconds.toFixed(0)} s`);
  return failures.length === 0 && bad.length === 0;
}

const PEERS = {
  rclone: versionOf('rclone', ['version']),
  aws: versionOf('aws', ['--version']),
  restic: versionOf('restic', ['version']),
};
main()
  .then((ok) => {
    cleanup();
    process.exitCode = ok ? 0 : 1;
  })
  .catch((e) => {
    console.error(`bench: ${e.stack ?? e}`);
    cleanup();
    process.exitCode = 1;
  });
