// A damaged catalog: pages overwritten, the file truncated, a lock held past the busy timeout.
// Every read gives the whole version or fails with the environment class (exit 8), never part of
// it with exit 0; `catalog rebuild` (and `storageProviders import s3` when no provider could be
// read back) brings this machine back to what the bucket says.
import { closeSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FileJson } from '../helpers/fixtures.js';
import { readTree } from '../helpers/tree.js';
import { committedVersion, delay, type Outcome, type Scenario, type Trees } from './scenario.js';
import { ok, providerArgs, type Trial } from './trial.js';

type Damage = (path: string, random: () => number) => void;

const overwritePage: Damage = (path, random) => {
  const pages = Math.floor(statSync(path).size / 8192);
  const fd = openSync(path, 'r+');
  const noise = Buffer.alloc(8192).map(() => Math.floor(random() * 256));
  writeSync(fd, noise, 0, noise.length, delay(random, pages) * 8192);
  closeSync(fd);
};

const truncate: Damage = (path, random) => truncateSync(path, delay(random, statSync(path).size));

async function damaged(t: Trial, trees: Trees, damage: Damage, random: () => number): Promise<Outcome> {
  await committedVersion(t, trees.small);
  const ref = await committedVersion(t, trees.extra);
  ok(await t.run(['datasets', 'tags', 'set', '--id', ref, '--name', 'prod']), 'tags set');
  const catalog = join(t.a.home, 'catalog.db');
  damage(catalog, random);
  let said = false;
  const wanted = readTree(trees.extra).map((f) => f.path);
  const list = await t.run(['datasets', 'files', 'list', '--id', 'ds:prod', '--recursive', '--json']);
  const target = t.dir('target');
  t.targets.push(target);
  const get = await t.run(['datasets', 'files', 'get', '--id', 'ds:prod', '--target-path', target]);
  const verify = await t.run(['datasets', 'versions', 'verify', '--id', 'ds:prod']);
  for (const [what, r] of [
    ['files list', list],
    ['files get', get],
    ['versions verify', verify],
  ] as const) {
    if (r.code === 8) said = true;
    else if (r.code !== 0 && !/^Error: \S/.test(r.stderr) && !r.stdout.includes('"error"')) {
      t.flag('divergent', `${what} on a damaged catalog: exit ${r.code ?? r.signal} without one line`);
    }
  }
  if (list.code === 0) {
    const paths = (JSON.parse(list.stdout) as FileJson[]).map((f) => f.path);
    if (JSON.stringify(paths) !== JSON.stringify(wanted))
      t.flag('lost', `files list served ${paths.length} of ${wanted.length}`);
  }
  if (get.code === 0) {
    const got = readTree(target).map((f) => f.path);
    if (JSON.stringify(got) !== JSON.stringify(wanted))
      t.flag('lost', `files get served ${got.length} of ${wanted.length}`);
  }
  // Whatever was noticed, the catalog may be damaged where nothing looked: rebuild it.
  const rebuilt = ok(await t.run(['catalog', 'rebuild', '--force', '--json']), 'catalog rebuild');
  const { providers } = JSON.parse(rebuilt.stdout) as { providers: { name: string }[] };
  if (!providers.some((p) => p.name === 'team')) {
    ok(await t.run(providerArgs('import', t.s3, t.bucket.name)), 'storageProviders import s3');
  }
  return said ? 'failedCleanly' : 'succeeded';
}

async function locked(t: Trial, trees: Trees): Promise<Outcome> {
  const ref = await committedVersion(t, trees.small);
  const holder = new Database(join(t.a.home, 'catalog.db'));
  holder.exec('BEGIN IMMEDIATE');
  let r;
  try {
    r = await t.run(['datasets', 'tags', 'set', '--id', ref, '--name', 'prod'], t.a, { STRATA_BUSY_TIMEOUT_MS: '500' });
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  if (r.code !== 8 || !/^Error: the catalog .* is locked by another process/.test(r.stderr)) {
    t.flag('divergent', `tags set on a locked catalog: exit ${r.code}, ${r.stderr.trim()}`);
  }
  ok(await t.run(['datasets', 'tags', 'set', '--id', ref, '--name', 'prod']), 'tags set again');
  return 'failedCleanly';
}

export function damageScenarios(trees: Trees): Scenario[] {
  return [
    {
      name: 'catalog page overwritten',
      trials: { short: 2, full: 15 },
      run: (t, random) => damaged(t, trees, overwritePage, random),
    },
    {
      name: 'catalog truncated',
      trials: { short: 1, full: 5 },
      run: (t, random) => damaged(t, trees, truncate, random),
    },
    { name: 'catalog locked past the busy timeout', trials: { short: 1, full: 3 }, run: (t) => locked(t, trees) },
  ];
}
