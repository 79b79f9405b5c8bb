// Spawning and timing commands, and the Ceph RGW server the whole run shares.
// Every child gets its own process group, so a Ctrl-C reaches the harness alone and the harness
// ends exactly the groups it started (killChildren), then stops the server it started.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const TIME_BIN = '/usr/bin/time';
const live = new Set();

/** Quote a command line for a report (secrets replaced by ***). */
export function shellLine(argv, envShown = {}, secrets = []) {
  const q = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`);
  let line = [...Object.entries(envShown).map(([k, v]) => `${k}=${q(v)}`), ...argv.map(q)].join(' ');
  for (const s of secrets) if (s) line = line.split(s).join('***');
  return line;
}

export class CommandError extends Error {
  constructor(line, result) {
    const err = [result.stdout, result.stderr]
      .map((s) => (s ?? '').trim())
      .filter(Boolean)
      .join('\n')
      .split('\n')
      .slice(-20)
      .join('\n');
    super(`command failed (${result.signal ?? `exit ${result.code}`}): ${line}\n${err}`);
    this.line = line;
    this.code = result.code;
    this.output = err;
  }
}

/**
 * Run CMD ARGS to completion; `seconds` is the wall clock from spawn to exit. `rssFile`: run it under
 * GNU time and add `rssKiB` (peak resident set, KiB). `stdout: 'ignore'` for chatty peer tools;
 * `lines: true` counts stdout's lines as they come instead of keeping it (a `| wc -l`), and adds
 * `lines` and `firstLineSeconds` (spawn to the first whole line); `settle: true` runs sync(1)
 * before the clock starts; `limitSeconds`: kill it (its process group) past that, and fail.
 */
export function run(cmd, args, opts = {}) {
  const { env = process.env, cwd = REPO, stdout = 'pipe', rssFile, check = true, show, settle = false } = opts;
  // settle: flush dirty pages first, so a timed command does not pay for the previous one's writeback.
  if (settle) spawnSync('sync');
  const line = shellLine(show?.argv ?? [cmd, ...args], show?.env, show?.secrets);
  if (rssFile) [cmd, args] = [TIME_BIN, ['-f', '%M', '-o', rssFile, cmd, ...args]];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let ended = started;
    const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', stdout, 'pipe'] });
    live.add(child);
    const out = [];
    let [lines, firstLine] = [0, null];
    let err = '';
    child.stdout?.on('data', (d) => {
      if (!opts.lines) return out.push(d);
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      if (lines > 0) firstLine ??= process.hrtime.bigint();
    });
    child.stderr.on('data', (d) => (err = (err + d).slice(-65536)));
    let killed = false;
    const limit =
      opts.limitSeconds &&
      setTimeout(() => {
        killed = true;
        process.kill(-child.pid, 'SIGKILL');
      }, opts.limitSeconds * 1000);
    child.on('exit', () => (ended = process.hrtime.bigint()));
    child.on('error', (e) => {
      live.delete(child);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      clearTimeout(limit);
      const result = {
        line,
        code,
        signal,
        seconds: Number(ended - started) / 1e9,
        stdout: Buffer.concat(out).toString(),
        stderr: err,
      };
      if (opts.lines) [result.lines, result.firstLineSeconds] = [lines, firstLine && Number(firstLine - started) / 1e9];
      if (rssFile && existsSync(rssFile)) {
        const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop();
        if (/^\d+$/.test(last)) result.rssKiB = Number(last);
        rmSync(rssFile, { force: true });
      }
      if (killed) reject(new Error(`killed after the limit of ${opts.limitSeconds} s: ${line}`));
      else if (check && (code !== 0 || signal)) reject(new CommandError(line, result));
      else resolve(result);
    });
  });
}

/** TERM every process group still running (then KILL what is left after 2 s). */
export function killChildren() {
  const groups = [...live].map((c) => c.pid).filter(Boolean);
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  if (groups.length === 0) return;
  spawnSync('sleep', ['2']);
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** GNU time for peak RSS: install the Debian `time` package when it is missing (root or sudo). */
export function ensureGnuTime(log) {
  if (existsSync(TIME_BIN)) return;
  log(`${TIME_BIN} is missing: installing the Debian package "time"`);
  const root = process.getuid?.() === 0;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args) =>
    spawnSync(root ? 'apt-get' : 'sudo', root ? args : ['apt-get', ...args], { env, stdio: 'inherit' }).status === 0;
  if (!apt('install', '-y', 'time') && apt('update')) apt('install', '-y', 'time');
  if (!existsSync(TIME_BIN)) throw new Error(`${TIME_BIN} is still missing: apt-get install time failed`);
}

/** Start the Ceph RGW (memstore, in RAM) under BASE; returns {endpoint, accessKey, secretKey, region, baseDir}. */
export async function startServer(base, memBytes) {
  const env = { ...process.env, S3_SERVER_MEMSTORE_BYTES: String(memBytes) };
  const r = await run('bash', ['scripts/s3-server.sh', 'start', base], { env });
  const line = r.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

/** Stop the daemons the start wrote pid files for, and remove BASE (synchronous: safe in exit paths). */
export function stopServer(base) {
  const r = spawnSync('bash', [`${REPO}/scripts/s3-server.sh`, 'stop', base], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`bench: stopping the S3 server failed: ${r.stderr}\n`);
}

/**
 * A private copy of the built CLI (bin/, dist/, package.json, the oclif manifest; node_modules linked)
 * that Strata runs from for the whole bench: a `npm run build` elsewhere (npm test's pretest empties
 * dist/ first) cannot pull files from under a run. Retried while the copy is incomplete (a build in
 * flight). Returns the path of its bin/run.cjs.
 */
export function snapshotStrata(dest, log) {
  for (let attempt = 1; ; attempt++) {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    let missing = null;
    try {
      for (const f of ['bin', 'dist', 'package.json', '.oclif.manifest.json']) {
        cpSync(join(REPO, f), join(dest, f), { recursive: true });
      }
      symlinkSync(join(REPO, 'node_modules'), join(dest, 'node_modules'));
      missing = ['dist/cli.cjs', '.oclif.manifest.json'].find((f) => !existsSync(join(dest, f))) ?? null;
      if (!missing) {
        const r = spawnSync(process.execPath, [join(dest, 'bin/run.cjs'), '--version'], { encoding: 'utf8' });
        if (r.status !== 0) missing = `a working CLI (${(r.stderr || r.stdout).trim().split('\n')[0]})`;
      }
    } catch (e) {
      missing = e.message;
    }
    if (!missing) return join(dest, 'bin/run.cjs');
    if (attempt === 12) throw new Error(`cannot snapshot the built CLI (run npm run build): missing ${missing}`);
    log(`dist/ is incomplete (missing ${missing}); a build is probably running: retrying in 5 s`);
    spawnSync('sleep', ['5']);
  }
}
