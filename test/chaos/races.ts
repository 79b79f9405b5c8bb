// Concurrency: commands racing each other on one version, one bucket or one cache. Whatever the
// interleaving, every outcome must be one the docs allow, and the state one thing everywhere.
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileJson } from '../helpers/fixtures.js';
import { makeTree, readTree } from '../helpers/tree.js';
import { compareTrees, type Findings } from './check.js';
import {
  commitArgs,
  committedVersion,
  delay,
  openVersion,
  putArgs,
  type Outcome,
  type Scenario,
  type Trees,
} from './scenario.js';
import { ok, type Trial } from './trial.js';

const codeOf = (stdout: string): string | undefined => {
  try {
    return (JSON.parse(stdout) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
};

/** Four puts into one open version at once: disjoint directories, and one path each writes differently. */
async function fourPuts(t: Trial, random: () => number): Promise<Outcome> {
  const ref = await openVersion(t);
  const sources = [0, 1, 2, 3].map((i) => {
    const src = t.dir(`writer${i}`);
    makeTree(join(src, `part${i}`), { count: 40, seed: 100 + i, maxSize: 3000 });
    writeFileSync(join(src, 'shared.txt'), `written by put ${i}\n`);
    return src;
  });
  const results = await Promise.all(
    sources.map(async (src) => {
      await new Promise((r) => setTimeout(r, delay(random, 200)));
      return t.run(putArgs(ref, src));
    }),
  );
  results.forEach((r, i) => ok(r, `put ${i}`));
  const listed = await t.json<FileJson[]>(['datasets', 'files', 'list', '--id', ref, '--recursive']);
  const shared = listed.find((f) => f.path === 'shared.txt');
  const winner = sources.findIndex((src) => shared && sha256File(join(src, 'shared.txt')) === shared.sha256);
  if (winner < 0) t.flag('corrupt', `shared.txt of ${ref} holds no writer's content`);
  const draft = await t.bucket.json<{ files: { path: string; sha256: string }[] }>(
    `datasets/${ref.split(':')[0]}/drafts/${ref.split(':')[1]}.json`,
  );
  const key = (files: { path: string; sha256?: string }[]): string =>
    JSON.stringify(files.map((f) => [f.path, f.sha256]).sort());
  if (key(draft.files) !== key(listed)) t.flag('divergent', `${ref}: the draft after four puts is not the catalog`);
  const expected = t.dir('expected');
  for (const src of sources) cpSync(src, expected, { recursive: true, preserveTimestamps: true });
  if (winner >= 0)
    cpSync(join(sources[winner]!, 'shared.txt'), join(expected, 'shared.txt'), { preserveTimestamps: true });
  ok(await t.run(commitArgs(ref)), 'commit');
  t.expected.set(ref, expected);
  return 'succeeded';
}

const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Two commits of one version at once: one commits, the other says it already was; both exit 0. */
async function twoCommits(t: Trial, trees: Trees): Promise<Outcome> {
  const ref = await openVersion(t);
  ok(await t.run(putArgs(ref, trees.small)), 'put');
  const [x, y] = await Promise.all([t.run(commitArgs(ref)), t.run(commitArgs(ref))]);
  ok(x, 'first commit');
  ok(y, 'second commit');
  const said = [x.stdout, y.stdout].map((s) => (s.startsWith('Committed') ? 'committed' : 'already'));
  if (said.sort().join() !== 'already,committed')
    t.flag('divergent', `two commits of ${ref} said ${said.join(' and ')}`);
  t.expected.set(ref, trees.small);
  return 'succeeded';
}

/** `commit & sleep; put extra/`: either the put lands in the version and the commit waits, or the put is refused. */
async function putRacingCommit(t: Trial, trees: Trees, random: () => number): Promise<Outcome> {
  const ref = await openVersion(t);
  ok(await t.run(putArgs(ref, trees.small)), 'put');
  const committing = t.run([...commitArgs(ref), '--json']);
  await new Promise((r) => setTimeout(r, delay(random, 400)));
  const putting = await t.run([...putArgs(ref, trees.extra), '--json']);
  const commit = await committing;
  const both = t.dir('small+extra');
  cpSync(trees.small, both, { recursive: true, preserveTimestamps: true });
  cpSync(trees.extra, both, { recursive: true, preserveTimestamps: true });
  const outcome = `commit ${commit.code} ${codeOf(commit.stdout) ?? ''} / put ${putting.code} ${codeOf(putting.stdout) ?? ''}`;
  if (commit.code === 0 && putting.code === 0)
    t.expected.set(ref, both); // the put ended before the commit began
  else if (commit.code === 0 && ['ECOMMITTING', 'ECOMMITTED'].includes(codeOf(putting.stdout) ?? '')) {
    t.expected.set(ref, trees.small);
  } else if (codeOf(commit.stdout) === 'EVERSIONBUSY' && putting.code === 0) {
    ok(await t.run(commitArgs(ref)), 'commit after the put');
    t.expected.set(ref, both);
  } else {
    t.flag('divergent', `put racing commit of ${ref}: ${outcome}`);
    return 'failedCleanly';
  }
  return commit.code === 0 ? 'succeeded' : 'failedCleanly';
}

/** B collects (over and over) while A puts and commits, deduping onto blobs a deleted version orphaned. */
async function gcDuringWork(t: Trial, trees: Trees, grace: string): Promise<Outcome> {
  const old = await committedVersion(t, trees.small);
  ok(await t.run(['datasets', 'versions', 'delete', '--id', old, '--force']), 'versions delete');
  t.expected.delete(old);
  const b = await t.person('b');
  let working = true;
  const collecting = (async () => {
    let runs = 0;
    while (working || runs === 0) {
      const r = await t.run(['gc', '--storageProviderId', 'team', '--grace', grace, '--json'], b);
      // Refused while another gc runs is fine; anything else is not.
      if (r.code !== 0 && codeOf(r.stdout) !== 'EGCBUSY') ok(r, 'gc');
      runs++;
    }
  })();
  try {
    await committedVersion(t, trees.small);
    await committedVersion(t, trees.mixed);
  } finally {
    working = false;
    await collecting;
  }
  return 'succeeded';
}

/** Two gets of one version through one cache at once, while the cache is pruned under a small cap. */
async function materializeWhileEvicting(t: Trial, trees: Trees): Promise<Outcome> {
  const ref = await committedVersion(t, trees.mixed);
  const targets = [t.dir('m1'), t.dir('m2')];
  t.targets.push(...targets);
  let outcome: Outcome = 'succeeded';
  let pruning = true;
  const evicting = (async () => {
    while (pruning) await t.run(['cache', 'prune', '--max-size', '4MiB']);
  })();
  try {
    const gets = await Promise.all(
      targets.map((target) => t.run(['datasets', 'files', 'get', '--id', ref, '--target-path', target])),
    );
    for (const [i, r] of gets.entries()) {
      if (r.code === 0) continue;
      // A clear error a rerun fixes is allowed; wrong bytes never.
      outcome = 'failedCleanly';
      ok(await t.run(['datasets', 'files', 'get', '--id', ref, '--target-path', targets[i]!]), 'get again');
    }
  } finally {
    pruning = false;
    await evicting;
  }
  for (const target of targets) {
    const found: Findings = { lost: 0, corrupt: 0, divergent: 0, tempFiles: 0, other: 0, notes: [] };
    compareTrees(readTree(trees.mixed), readTree(target), found, `get into ${target}`);
    if (found.lost) t.flag('lost', found.notes.join('; '), found.lost);
    if (found.corrupt) t.flag('corrupt', found.notes.join('; '), found.corrupt);
  }
  return outcome;
}

export function raceScenarios(trees: Trees): Scenario[] {
  return [
    { name: 'four puts into one version', trials: { short: 1, full: 5 }, run: (t, random) => fourPuts(t, random) },
    { name: 'two commits of one version', trials: { short: 1, full: 5 }, run: (t) => twoCommits(t, trees) },
    {
      name: 'put racing commit',
      trials: { short: 2, full: 10 },
      run: (t, random) => putRacingCommit(t, trees, random),
    },
    {
      name: 'gc (default grace) while putting and committing',
      trials: { short: 1, full: 5 },
      run: (t) => gcDuringWork(t, trees, '24h'),
    },
    {
      name: 'gc (grace 0s) while putting and committing',
      trials: { short: 1, full: 5 },
      run: (t) => gcDuringWork(t, trees, '0s'),
    },
    {
      name: 'two gets into one cache while it evicts',
      trials: { short: 1, full: 5 },
      run: (t) => materializeWhileEvicting(t, trees),
    },
  ];
}
