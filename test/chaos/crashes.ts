// Crashes: each command killed with SIGKILL at a random (seeded) moment, and at every named fault
// point (a durable step: a bucket document written, a catalog transaction, a rename into the cache
// or a target); the same command run again must finish the work.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_POINTS, type FaultPoint } from '../../src/core/faults.js';
import {
  commitArgs,
  committedVersion,
  getArgs,
  faultThenRerun,
  KillSpan,
  killThenRerun,
  openVersion,
  putArgs,
  type Outcome,
  type Scenario,
  type Trees,
} from './scenario.js';
import { ok, type Trial } from './trial.js';

/** A put killed at a random moment, run again, then committed. */
async function putTrial(t: Trial, src: string, span: KillSpan, random: () => number): Promise<Outcome> {
  const ref = await openVersion(t);
  const { outcome } = await killThenRerun(t, putArgs(ref, src), span, random);
  ok(await t.run(commitArgs(ref)), 'commit');
  t.expected.set(ref, src);
  return outcome;
}

/** A get of a committed version killed, run again into the same target, which must then equal the source. */
async function getTrial(
  t: Trial,
  trees: Trees,
  span: KillSpan,
  random: () => number,
  ...flags: string[]
): Promise<Outcome> {
  const ref = await committedVersion(t, trees.mixed);
  const target = t.dir('target');
  t.targets.push(target);
  const { outcome } = await killThenRerun(t, getArgs(ref, target, ...flags), span, random);
  return outcome;
}

/** A job writing its output over ~2 s, synced every second, killed; the same job run again commits. */
async function jobTrial(t: Trial, trees: Trees, random: () => number, at: KillSpan | FaultPoint): Promise<Outcome> {
  const script = join(t.dir('job'), 'write.sh');
  writeFileSync(
    script,
    `set -e\nfor f in $(cd '${trees.small}' && find . -type f | sort); do\n  mkdir -p "$STRATA_OUTPUT_OUT/$(dirname "$f")"\n  cp -p '${trees.small}'/"$f" "$STRATA_OUTPUT_OUT/$f"\n  sleep 0.015\ndone\n`,
  );
  chmodSync(script, 0o755);
  const args = ['jobs', 'exec', '--isolation', 'none', '--output', 'out=ds,sync=1s', '--', 'sh', script];
  const outcome =
    typeof at === 'string' ? await faultThenRerun(t, args, at) : (await killThenRerun(t, args, at, random)).outcome;
  // The rerun made a new committed version of ds holding the tree; an earlier killed run's version
  // stays open with what it synced (the checker compares its draft with the catalog).
  const versions = await t.json<{ ref: string; isCommitted: boolean; committedAt: string | null }[]>([
    'datasets',
    'versions',
    'list',
    '--id',
    'ds',
  ]);
  for (const v of versions) if (v.isCommitted && !t.expected.has(v.ref)) t.expected.set(v.ref, trees.small);
  return outcome;
}

export function crashScenarios(trees: Trees): Scenario[] {
  const span = (ms: number): KillSpan => new KillSpan(ms);
  const [put, putLarge, commit, get, fill, sync, gc, job] = [2000, 3000, 800, 1500, 1500, 1000, 1200, 3000].map(span);
  return [
    {
      name: 'kill files put (loose + multipart)',
      trials: { short: 2, full: 50 },
      run: (t, random) => putTrial(t, trees.mixed, put!, random),
    },
    {
      name: 'kill files put (multipart only)',
      trials: { short: 1, full: 10 },
      run: (t, random) => putTrial(t, trees.large, putLarge!, random),
    },
    {
      name: 'kill versions commit',
      trials: { short: 1, full: 10 },
      run: async (t, random) => {
        const ref = await openVersion(t);
        ok(await t.run(putArgs(ref, trees.small)), 'put');
        const { outcome } = await killThenRerun(t, commitArgs(ref), commit!, random);
        t.expected.set(ref, trees.small);
        return outcome;
      },
    },
    {
      name: 'kill files get --no-cache',
      trials: { short: 1, full: 30 },
      run: (t, random) => getTrial(t, trees, get!, random, '--no-cache'),
    },
    {
      name: 'kill files get (cache fill)',
      trials: { short: 1, full: 10 },
      run: (t, random) => getTrial(t, trees, fill!, random),
    },
    {
      name: 'kill catalog sync',
      trials: { short: 1, full: 10 },
      run: async (t, random) => {
        const b = await t.person('b');
        await committedVersion(t, trees.small);
        const v2 = await committedVersion(t, trees.extra);
        ok(await t.run(['datasets', 'tags', 'set', '--id', v2, '--name', 'prod']), 'tags set');
        const { outcome } = await killThenRerun(t, ['catalog', 'sync'], sync!, random, b);
        return outcome;
      },
    },
    {
      name: 'kill gc --grace 0s',
      trials: { short: 1, full: 10 },
      run: async (t, random) => {
        const doomed = await committedVersion(t, trees.small);
        await committedVersion(t, trees.extra);
        ok(await t.run(['datasets', 'versions', 'delete', '--id', doomed, '--force']), 'versions delete');
        t.expected.delete(doomed);
        const b = await t.person('b');
        const { outcome } = await killThenRerun(
          t,
          ['gc', '--storageProviderId', 'team', '--grace', '0s'],
          gc!,
          random,
          b,
        );
        // The kept version's blobs all stay; what remains is put again whole by a new version.
        await committedVersion(t, trees.small);
        return outcome;
      },
    },
    {
      name: "kill a job's output sync",
      trials: { short: 1, full: 10 },
      run: (t, random) => jobTrial(t, trees, random, job!),
    },
    ...FAULT_POINTS.map((point): Scenario => ({
      name: `fault point ${point}`,
      trials: { short: 1, full: 2 },
      run: (t, random) => faultTrial(t, trees, point, random),
    })),
  ];
}

/** The command that passes the fault point, killed there, then run again. */
async function faultTrial(t: Trial, trees: Trees, point: FaultPoint, random: () => number): Promise<Outcome> {
  const [area] = point.split(':');
  if (point === 'put:multipart-part' || area === 'put' || area === 'pack' || point === 'draft:after-put') {
    const ref = await openVersion(t);
    const src = point === 'put:multipart-part' ? trees.large : trees.mixed;
    const outcome = await faultThenRerun(t, putArgs(ref, src), point);
    ok(await t.run(commitArgs(ref)), 'commit');
    t.expected.set(ref, src);
    return outcome;
  }
  if (area === 'commit') {
    const ref = await openVersion(t);
    ok(await t.run(putArgs(ref, trees.small)), 'put');
    t.expected.set(ref, trees.small);
    return faultThenRerun(t, commitArgs(ref), point);
  }
  if (area === 'tag') {
    const ref = await committedVersion(t, trees.small);
    return faultThenRerun(t, ['datasets', 'tags', 'set', '--id', ref, '--name', 'prod'], point);
  }
  if (area === 'cache' || area === 'target') {
    const ref = await committedVersion(t, trees.mixed);
    const target = t.dir('target');
    t.targets.push(target);
    const first = await faultThenRerun(t, getArgs(ref, target), point);
    const direct = t.dir('target');
    t.targets.push(direct);
    const second = await faultThenRerun(t, getArgs(ref, direct, '--no-cache'), point);
    return first === 'succeeded' && second === 'succeeded' ? 'succeeded' : 'failedCleanly';
  }
  if (area === 'sync') {
    const b = await t.person('b');
    await committedVersion(t, trees.small);
    return faultThenRerun(t, ['catalog', 'sync'], point, b);
  }
  if (area === 'gc') {
    const doomed = await committedVersion(t, trees.small);
    await committedVersion(t, trees.extra);
    ok(await t.run(['datasets', 'versions', 'delete', '--id', doomed, '--force']), 'versions delete');
    t.expected.delete(doomed);
    return faultThenRerun(t, ['gc', '--storageProviderId', 'team', '--grace', '0s'], point);
  }
  if (area === 'job') return jobTrial(t, trees, random, point);
  throw new Error(`no trial passes fault point ${point}`);
}
