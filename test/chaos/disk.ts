// Full disks (issue 16): the get target, the cache and STRATA_HOME each on a small tmpfs that fills
// up in the middle of a command. The command fails with one line of the environment class (exit
// 8) naming the path; nothing half-written is renamed into place; the cache holds only whole,
// verified blobs; and the same command succeeds once space is freed. Needs root (mount).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inCI } from '../helpers/ci.js';
import { readTree } from '../helpers/tree.js';
import { compareTrees, type Findings } from './check.js';
import {
  committedVersion,
  getArgs,
  openVersion,
  putArgs,
  type Around,
  type Outcome,
  type Scenario,
  type Trees,
} from './scenario.js';
import { ok, type Trial } from './trial.js';

/** Enough for a version of the mixed tree (12 MiB) once the filler is gone. */
const DISK_MIB = 24;

/**
 * A tmpfs of DISK_MIB MiB, filled by files that `free()` removes until at most `leaveKib` KiB
 * are left (none are written with leaveKib undefined: call fill() later).
 */
function smallDisk(
  scratch: string,
  leaveKib?: number,
): { dir: string; fill(leaveKib: number): void; free(): void; around: Around } {
  const dir = mkdtempSync(join(scratch, 'tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_MIB}m`, 'tmpfs', dir]);
  const fill = (leave: number): void => {
    // Halving sizes: what fits goes in, so no more than `leave` KiB stay free, whatever the metadata costs.
    for (let kib = DISK_MIB * 1024; kib > leave; kib = Math.floor(kib / 2)) {
      try {
        writeFileSync(join(dir, `filler-${kib}`), Buffer.alloc(kib * 1024));
      } catch {
        rmSync(join(dir, `filler-${kib}`), { force: true });
      }
    }
  };
  if (leaveKib !== undefined) fill(leaveKib);
  return {
    dir,
    fill,
    free: () => {
      for (const name of readdirSync(dir)) if (name.startsWith('filler-')) rmSync(join(dir, name));
    },
    around: {
      place: {},
      teardown: async () => {
        execFileSync('umount', ['-l', dir]);
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}

/** A failure of the environment class: exit 8, one line, naming the full place. */
function expectFull(t: Trial, what: string, r: { code: number | null; stderr: string }, where: string): void {
  if (r.code !== 8 || !/^Error: .*(no space left|is full)/.test(r.stderr) || !r.stderr.includes(where)) {
    t.flag('divergent', `${what} on a full disk: exit ${r.code}, ${r.stderr.trim()}`);
  }
}

/** The files a get left in its target are whole and right; the cache holds only verified blobs. */
async function expectNothingTorn(t: Trial, trees: Trees, target: string): Promise<void> {
  const want = new Map(readTree(trees.mixed).map((f) => [f.path, f]));
  const got = readTree(target).filter((f) => !f.path.split('/').at(-1)!.startsWith('.strata-tmp-'));
  const found: Findings = { lost: 0, corrupt: 0, divergent: 0, tempFiles: 0, other: 0, notes: [] };
  compareTrees(
    got.map((f) => want.get(f.path) ?? { ...f, sha256: 'not in the version' }),
    got,
    found,
    target,
  );
  if (found.corrupt > 0) t.flag('corrupt', `half-written files in ${target}`, found.corrupt);
  const verify = ok(await t.run(['cache', 'verify', '--json']), 'cache verify');
  const { dropped } = JSON.parse(verify.stdout) as { dropped: string[] };
  if (dropped.length > 0) t.flag('corrupt', `cache verify dropped ${dropped.length} blob(s)`, dropped.length);
}

/** Without root no tmpfs can be mounted: under CI that fails the run instead of skipping it. */
export function diskScenarios(trees: Trees): Scenario[] {
  if (process.getuid?.() !== 0) {
    if (!inCI()) return [];
    const needsRoot = (): Promise<Outcome> =>
      Promise.reject(new Error('full-disk trials mount a tmpfs: they need root'));
    return [{ name: 'full disks (need root)', trials: { short: 1, full: 1 }, run: needsRoot }];
  }
  // One small disk per scenario: scenarios run side by side, their trials one after another.
  let targetDisk: ReturnType<typeof smallDisk>;
  let cacheDisk: ReturnType<typeof smallDisk>;
  let homeDisk: ReturnType<typeof smallDisk>;
  return [
    {
      name: 'the get target fills up',
      trials: { short: 1, full: 3 },
      around: async (_s3, scratch) => (targetDisk = smallDisk(scratch, 3 * 1024)).around,
      run: async (t): Promise<Outcome> => {
        const ref = await committedVersion(t, trees.mixed);
        const target = join(targetDisk.dir, 'data');
        t.targets.push(target);
        expectFull(t, 'get', await t.run(getArgs(ref, target)), targetDisk.dir);
        await expectNothingTorn(t, trees, target);
        targetDisk.free();
        ok(await t.run(getArgs(ref, target)), 'get once space is freed');
        const found: Findings = { lost: 0, corrupt: 0, divergent: 0, tempFiles: 0, other: 0, notes: [] };
        compareTrees(readTree(trees.mixed), readTree(target), found, target);
        if (found.lost + found.corrupt > 0) t.flag('lost', found.notes.join('; '), found.lost + found.corrupt);
        return 'failedCleanly';
      },
    },
    {
      name: 'the cache fills up',
      trials: { short: 1, full: 3 },
      around: async (_s3, scratch) => {
        cacheDisk = smallDisk(scratch, 3 * 1024);
        return { ...cacheDisk.around, place: { cache: join(cacheDisk.dir, 'cache') } };
      },
      run: async (t): Promise<Outcome> => {
        const ref = await committedVersion(t, trees.mixed);
        const target = t.dir('target');
        t.targets.push(target);
        expectFull(t, 'get', await t.run(getArgs(ref, target)), cacheDisk.dir);
        await expectNothingTorn(t, trees, target);
        cacheDisk.free();
        ok(await t.run(getArgs(ref, target)), 'get once space is freed');
        return 'failedCleanly';
      },
    },
    {
      name: 'STRATA_HOME fills up',
      trials: { short: 1, full: 3 },
      around: async (_s3, scratch) => {
        homeDisk = smallDisk(scratch);
        return { ...homeDisk.around, place: { home: join(homeDisk.dir, 'home') } };
      },
      run: async (t): Promise<Outcome> => {
        const ref = await openVersion(t);
        // The catalog exists; a few KiB are left, and the put's rows need more.
        homeDisk.fill(8);
        expectFull(t, 'put', await t.run(putArgs(ref, trees.mixed)), join(homeDisk.dir, 'home'));
        homeDisk.free();
        ok(await t.run(putArgs(ref, trees.mixed)), 'put once space is freed');
        ok(await t.run(['datasets', 'versions', 'commit', '--id', ref]), 'commit');
        t.expected.set(ref, trees.mixed);
        return 'failedCleanly';
      },
    },
  ];
}
