import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, writeFiles } from '../helpers/fixtures.js';
import { parseJson, type JobResultJson, type RunDetailsJson } from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';
import { inCI } from '../helpers/ci.js';

const fresh = tempDirs('strata-jobs-iso-');

beforeAll(assertBuilt);

/** Namespace isolation needs root; under CI these tests must run (and fail if they cannot), never skip. */
const asRoot = process.getuid?.() === 0 || inCI();

interface Home {
  o: CliOptions;
  /** the team cache, outside STRATA_HOME, so that hiding each can be seen */
  cache: string;
}

/** A home whose team cache is elsewhere, with a committed dataset `raw` holding a.txt and sub/b.txt. */
async function withRaw(): Promise<Home> {
  const cache = join(fresh(), 'team-cache');
  const o = { home: fresh(), env: { STRATA_CACHE_DIR: cache } };
  await createDataset(o, 'raw');
  await committedVersion(o, 'raw', `${writeFiles(fresh(), { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' })}/`);
  return { o, cache };
}

/** `jobs exec --json … -- sh -c script`: exit 0 and the result. */
async function exec(o: CliOptions, flags: string[], script: string): Promise<{ r: CliResult; job: JobResultJson }> {
  const r = await strata(['jobs', 'exec', '--json', ...flags, '--', 'sh', '-c', script], o);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) as string });
  return { r, job: parseJson<JobResultJson>(r) };
}

async function contentsOf(o: CliOptions, ref: string): Promise<Record<string, string>> {
  const target = join(fresh(), 'got');
  await strataJson(['datasets', 'files', 'get', '--id', ref, '--target-path', target], o);
  return Object.fromEntries(readTree(target).map((f) => [f.path, readFileSync(join(target, f.path), 'utf8')]));
}

/** Regular files (anything but directories) under dir: the host's /inputs and /outputs must have none. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => !statSync(join(dir, p)).isDirectory());
}

/** Every blob of the team cache: path, sha256 of its content, mode and mtime. */
function cacheBlobs(cache: string) {
  const blobs = readTree(join(cache, 'blobs'));
  // Content addressing holds: every blob is named by the sha256 of what it holds.
  for (const b of blobs) expect(b.path.endsWith(b.sha256)).toBe(true);
  return blobs;
}

describe.concurrent('jobs under namespace isolation (root)', () => {
  it.runIf(asRoot)(
    'the job sees its data at /inputs/<name> and writes /outputs/<name>; the host’s /inputs and /outputs stay empty',
    async () => {
      const { o, cache } = await withRaw();
      const script = [
        'set -e',
        'cat /inputs/raw/a.txt /inputs/raw/sub/b.txt > /outputs/model/joined.txt',
        'echo "$STRATA_INPUTS $STRATA_OUTPUTS $STRATA_INPUT_RAW $STRATA_OUTPUT_MODEL" > /outputs/model/env.txt',
        // STRATA_HOME and the team cache are hidden: empty (or absent) inside.
        `ls -A "$STRATA_HOME" > /outputs/model/home.txt`,
        `ls -A ${cache} > /outputs/model/cache.txt 2>/dev/null || true`,
      ].join('\n');
      const { r, job } = await exec(o, ['--input', 'raw=raw', '--output', 'model=model'], script);
      // The cache, on the host, holds the blobs the job read (and nothing of what it wrote).
      expect(cacheBlobs(cache)).toHaveLength(2);
      expect(r.stderr).toMatch(/^job exec \(run[a-z0-9]{12}\): isolation namespace \(running as root\)/);
      expect(job).toMatchObject({ status: 'succeeded', isolation: 'namespace' });
      expect(await contentsOf(o, job.outputs[0]!.ref)).toEqual({
        'joined.txt': 'alpha\nbeta\n',
        'env.txt': '/inputs /outputs /inputs/raw /outputs/model\n',
        'home.txt': '',
        'cache.txt': '',
      });
      const run = await strataJson<RunDetailsJson>(['jobs', 'details', '--id', job.runId], o);
      expect(run.isolation).toBe('namespace');
      expect(filesUnder('/inputs')).toEqual([]);
      expect(filesUnder('/outputs')).toEqual([]);
    },
  );

  it.runIf(asRoot)(
    'an input cannot be changed through its mount, not even by root; the team cache is unchanged',
    async () => {
      const { o, cache } = await withRaw();
      // A first job fills the cache with the input's blobs; the second one attacks them.
      await exec(o, ['--input', 'raw=raw'], 'cat /inputs/raw/a.txt > /dev/null');
      const before = cacheBlobs(cache);
      expect(before).toHaveLength(2);

      const attacks: Record<string, string> = {
        append: 'echo x >> /inputs/raw/a.txt',
        truncate: ': > /inputs/raw/sub/b.txt',
        rm: 'rm -f /inputs/raw/a.txt',
        rename: 'mv /inputs/raw/a.txt /inputs/raw/z.txt',
        create: 'touch /inputs/raw/new.txt',
        chmod: 'chmod 777 /inputs/raw/a.txt',
        touch: 'touch -d 2001-01-01 /inputs/raw/a.txt',
        remount: 'mount -o remount,rw /inputs/raw',
        'remount-bind': 'mount -o remount,bind,rw /inputs/raw',
        umount: 'umount /inputs/raw',
        'umount-lazy': 'umount -l /inputs/raw',
        'bind-over': 'mount --bind /outputs/out /inputs/raw',
        'hardlink-out': 'ln /inputs/raw/a.txt /outputs/out/a-link',
        'new-userns': 'unshare -Urm sh -c "mount -o remount,bind,rw /inputs/raw && echo x >> /inputs/raw/a.txt"',
      };
      const script = [
        ...Object.entries(attacks).map(
          ([name, cmd]) =>
            `if ( ${cmd} ) 2>/dev/null; then echo "${name}: 0"; else echo "${name}: $?"; fi >> /outputs/out/results.txt`,
        ),
        'cat /inputs/raw/a.txt /inputs/raw/sub/b.txt > /outputs/out/seen.txt',
        'ls -A /inputs/raw > /outputs/out/ls.txt',
      ].join('\n');
      const { job } = await exec(o, ['--input', 'raw=raw', '--output', 'out=attempts'], script);
      expect(cacheBlobs(cache)).toEqual(before); // (before `files get` below fills it with the outputs)
      const files = await contentsOf(o, job.outputs[0]!.ref);
      const results = Object.fromEntries(
        files['results.txt']!.trim()
          .split('\n')
          .map((line) => line.split(': ') as [string, string]),
      );
      expect(Object.keys(results)).toEqual(Object.keys(attacks));
      // Each one failed, and not for want of the tool (127: command not found).
      for (const [name, status] of Object.entries(results))
        expect({ name, failed: status !== '0', found: status !== '127' }).toEqual({ name, failed: true, found: true });
      // What the job saw, after all that, is still the input.
      expect(files['seen.txt']).toBe('alpha\nbeta\n');
      expect(files['ls.txt']).toBe('a.txt\nsub\n');
      expect(files['a-link']).toBeUndefined();
      expect(await contentsOf(o, 'raw')).toEqual({ 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' });
      expect(filesUnder('/inputs')).toEqual([]);
      expect(filesUnder('/outputs')).toEqual([]);
    },
  );
});

/**
 * A dataset `tools` with two files of the same bytes, one executable: the job must see each with
 * its own mode (read-only), run the executable, and version what it copies out with those modes.
 */
async function withTools(): Promise<Home> {
  const cache = join(fresh(), 'team-cache');
  const o = { home: fresh(), env: { STRATA_CACHE_DIR: cache } };
  const src = writeFiles(fresh(), { 'prep.sh': '#!/bin/sh\necho prepared\n', 'copy.sh': '#!/bin/sh\necho prepared\n' });
  chmodSync(join(src, 'prep.sh'), 0o755);
  chmodSync(join(src, 'copy.sh'), 0o644);
  await createDataset(o, 'tools');
  await committedVersion(o, 'tools', `${src}/`);
  return { o, cache };
}

const TOOLS_SCRIPT = [
  'set -e',
  'd="$STRATA_INPUT_TOOLS"',
  '"$d/prep.sh" > "$STRATA_OUTPUT_OUT/ran.txt"',
  'stat -c "%n %a" "$d/prep.sh" "$d/copy.sh" | sed "s|^$d/||" > "$STRATA_OUTPUT_OUT/modes.txt"',
  'cp -p "$d/prep.sh" "$STRATA_OUTPUT_OUT/prep.sh"',
].join('\n');

async function expectToolsRun(o: CliOptions, flags: string[]): Promise<void> {
  const { job } = await exec(o, ['--input', 'tools=tools', '--output', 'out=out', ...flags], TOOLS_SCRIPT);
  expect(await contentsOf(o, job.outputs[0]!.ref)).toMatchObject({
    'ran.txt': 'prepared\n',
    'modes.txt': 'prep.sh 555\ncopy.sh 444\n',
  });
  const files = await strataJson<{ path: string; mode: number }[]>(
    ['datasets', 'files', 'list', '--id', job.outputs[0]!.ref, '--recursive'],
    o,
  );
  expect(files.find((f) => f.path === 'prep.sh')?.mode).toBe(0o555);
}

describe.concurrent('executables among the inputs', () => {
  it.runIf(asRoot)('under namespace isolation: run, 0555 beside a 0444 file of the same bytes', async () => {
    const { o, cache } = await withTools();
    await expectToolsRun(o, []);
    // The executable is a copy of the blob both files share, never a change to it.
    expect(new Set(cacheBlobs(cache).map((b) => b.mode))).toEqual(new Set([0o444]));
  });

  it('under --isolation none: the same', async () => {
    const { o } = await withTools();
    await expectToolsRun(o, ['--isolation', 'none']);
  });
});

describe.concurrent('jobs with --isolation none', () => {
  it('paths come through STRATA_INPUT_<NAME>/STRATA_OUTPUT_<NAME>, the run says so, and the job works on copies', async () => {
    const { o, cache } = await withRaw();
    const script = [
      'set -e',
      'cat "$STRATA_INPUT_RAW/a.txt" "$STRATA_INPUT_RAW/sub/b.txt" > "$STRATA_OUTPUT_OUT/joined.txt"',
      'echo "$STRATA_INPUTS|$STRATA_OUTPUTS|$STRATA_INPUT_RAW|$STRATA_OUTPUT_OUT" > "$STRATA_OUTPUT_OUT/env.txt"',
      // Read-only by mode: writing takes an explicit chmod (and root ignores modes). Even so,
      // the job writes its own copy, never the cache.
      'test ! -w "$STRATA_INPUT_RAW/a.txt" || [ "$(id -u)" = 0 ]',
      'chmod u+w "$STRATA_INPUT_RAW/a.txt" && echo changed >> "$STRATA_INPUT_RAW/a.txt" || true',
    ].join('\n');
    const warm = await exec(o, ['--isolation', 'none', '--input', 'raw=raw'], 'true');
    expect(warm.job.isolation).toBe('none');
    const before = cacheBlobs(cache);
    const { r, job } = await exec(o, ['--isolation', 'none', '--input', 'raw=raw', '--output', 'out=out'], script);
    expect(cacheBlobs(cache)).toEqual(before);
    expect(r.stderr).toMatch(
      /^job exec \(run[a-z0-9]{12}\): isolation none \(asked for --isolation none\): data in \S+, paths in STRATA_INPUT_<NAME> and STRATA_OUTPUT_<NAME>/,
    );
    const files = await contentsOf(o, job.outputs[0]!.ref);
    expect(files['joined.txt']).toBe('alpha\nbeta\n');
    const [inputs, outputs, input, output] = files['env.txt']!.trim().split('|') as [string, string, string, string];
    const runDir = join(o.home, 'runs', job.runId);
    expect({ inputs, outputs, input, output }).toEqual({
      inputs: join(runDir, 'inputs'),
      outputs: join(runDir, 'outputs'),
      input: join(runDir, 'inputs', 'raw'),
      output: join(runDir, 'outputs', 'out'),
    });
    expect(await contentsOf(o, 'raw')).toEqual({ 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' });
    const run = await strataJson<RunDetailsJson>(['jobs', 'details', '--id', job.runId], o);
    expect(run.isolation).toBe('none');
    // The run's copies are gone once the outputs are stored; the log stays.
    expect(existsSync(join(runDir, 'inputs'))).toBe(false);
    expect(existsSync(join(runDir, 'outputs'))).toBe(false);
    expect(existsSync(run.logPath)).toBe(true);
  });
});
