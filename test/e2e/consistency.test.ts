// Issue 15's regression tests on the local provider: puts and commits exclude each other on a
// version, a put that did not finish keeps its version from being committed unnoticed, two
// commits commit once, a killed commit finishes when run again, and its leftover draft is not a
// live one. A process is held at a fault point with SIGSTOP (src/core/faults.ts) to make each
// race happen every time, not now and then.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startStrata, stopped, strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectJsonError } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion, put, type PutJson, type VersionJson } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-consistency-');

beforeAll(assertBuilt);

const held = (point: string): NodeJS.ProcessEnv => ({ STRATA_FAULT: point, STRATA_FAULT_SIGNAL: 'SIGSTOP' });
const commit = (o: CliOptions, ref: string, ...flags: string[]) =>
  strata(['datasets', 'versions', 'commit', '--id', ref, ...flags], o);

interface ManifestJson {
  files: { path: string; size: number; sha256: string; mode: number; mtimeMs: number }[];
}

/** The committed manifest in the provider's directory (what a teammate's catalog is rebuilt from). */
function manifestOf(o: CliOptions, ref: string): ManifestJson {
  const [datasetId, versionId] = ref.split(':');
  return JSON.parse(
    readFileSync(join(o.home, 'storage/datasets', datasetId!, 'versions', `${versionId}.json`), 'utf8'),
  ) as ManifestJson;
}

/** This machine's view of a committed version equals its manifest in the bucket, path for path. */
async function expectOneVersion(o: CliOptions, ref: string, files: number): Promise<void> {
  const local = await listFilesJson(o, ref);
  const bucket = manifestOf(o, ref).files;
  expect(local.map((f) => [f.path, f.sha256, f.size])).toEqual(bucket.map((f) => [f.path, f.sha256, f.size]));
  expect(local).toHaveLength(files);
}

async function versionWithTree(o: CliOptions, count: number): Promise<{ v: VersionJson; src: string }> {
  await createDataset(o);
  const v = await openVersion(o, 'demo');
  const src = join(fresh(), 'src');
  makeTree(src, { count, seed: 3, maxSize: 512 });
  return { v, src };
}

describe.concurrent('a put and a commit of one version exclude each other', () => {
  it('a put into a version being committed fails with exit 4 and changes nothing; the committed version is one thing here and in the bucket', async () => {
    const o = { home: fresh() };
    const { v, src } = await versionWithTree(o, 40);
    await put(o, v.ref, `${src}/`);
    const extra = join(fresh(), 'extra');
    makeTree(extra, { count: 30, seed: 4, maxSize: 512 });

    const committing = startStrata(['datasets', 'versions', 'commit', '--id', v.ref], {
      ...o,
      env: held('commit:after-claim'),
    });
    await stopped(committing);
    const refused = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', extra], o);
    expect(expectErrorLine(refused, 4)).toContain(`${v.ref} is being committed by another process`);
    const json = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', extra, '--json'], o);
    expect(expectJsonError(json, 4).code).toBe('ECOMMITTING');
    process.kill(committing.pid, 'SIGCONT');
    expect((await committing.result).code).toBe(0);
    await expectOneVersion(o, v.ref, 40);
  });

  it('a commit while a put is writing fails with exit 4; the put finishes with all its files in the version, which then commits whole', async () => {
    const o = { home: fresh() };
    const { v, src } = await versionWithTree(o, 1200);
    const putting = startStrata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`, '--json'], {
      ...o,
      env: held('put:after-batch'),
    });
    await stopped(putting);
    const refused = await commit(o, v.ref);
    expect(expectErrorLine(refused, 4)).toMatch(/a put of 1200 file\(s\) started at .* is writing into/);
    expect(expectJsonError(await commit(o, v.ref, '--json'), 4).code).toBe('EVERSIONBUSY');
    process.kill(putting.pid, 'SIGCONT');
    const done = await putting.result;
    expect(done.code, done.stderr).toBe(0);
    expect((JSON.parse(done.stdout) as PutJson).files).toBe(1200);
    expect((await commit(o, v.ref)).code).toBe(0);
    await expectOneVersion(o, v.ref, 1200);
  });
});

describe.concurrent('a put that did not finish', () => {
  it('leaves its version marked: commit refuses it (exit 4) unless --allow-incomplete; the same put again clears the mark', async () => {
    const o = { home: fresh() };
    const { v, src } = await versionWithTree(o, 1200);
    const killed = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`], {
      ...o,
      env: { STRATA_FAULT: 'put:after-batch' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const stored = (await listFilesJson(o, v.ref)).length;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(1200);

    const line = expectErrorLine(await commit(o, v.ref), 4);
    expect(line).toMatch(/may lack files: a put of 1200 file\(s\) started at .* did not finish/);
    expect(line).toContain('--allow-incomplete');
    expect(expectJsonError(await commit(o, v.ref, '--json'), 4).code).toBe('EINCOMPLETE');
    expect((await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', v.ref], o)).isCommitted).toBe(
      false,
    );

    // Run again, the put finishes the version, which then commits with every file.
    expect((await put(o, v.ref, `${src}/`)).files).toBe(1200);
    expect((await commit(o, v.ref)).code).toBe(0);
    await expectOneVersion(o, v.ref, 1200);
  });

  it('--allow-incomplete commits what was stored', async () => {
    const o = { home: fresh() };
    const { v, src } = await versionWithTree(o, 1200);
    await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`], {
      ...o,
      env: { STRATA_FAULT: 'put:after-batch' },
    });
    const stored = (await listFilesJson(o, v.ref)).length;
    const c = await strataJson<VersionJson>(['datasets', 'versions', 'commit', '--id', v.ref, '--allow-incomplete'], o);
    expect(c).toMatchObject({ isCommitted: true, fileCount: stored });
    await expectOneVersion(o, v.ref, stored);
  });
});

describe.concurrent('commits of one version', () => {
  it('two at once: exactly one commits, the other says it already was (both exit 0)', async () => {
    const o = { home: fresh() };
    const { v, src } = await versionWithTree(o, 20);
    await put(o, v.ref, `${src}/`);
    const first = startStrata(['datasets', 'versions', 'commit', '--id', v.ref], {
      ...o,
      env: held('commit:after-claim'),
    });
    await stopped(first);
    const second = startStrata(['datasets', 'versions', 'commit', '--id', v.ref], o);
    await new Promise((r) => setTimeout(r, 500)); // the second is waiting for the first
    process.kill(first.pid, 'SIGCONT');
    const [a, b] = await Promise.all([first.result, second.result]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toBe(`Committed dataset version: ${v.ref}\n`);
    expect(b.stdout).toMatch(new RegExp(`^Dataset version ${v.ref} was already committed \\(at `));
    await expectOneVersion(o, v.ref, 20);
  });

  it.for(['commit:after-claim', 'commit:after-manifest', 'commit:in-transaction', 'commit:before-draft-delete'])(
    'killed at %s: run again, it finishes (or says it already did); no draft is left',
    async (point) => {
      const o = { home: fresh() };
      const { v, src } = await versionWithTree(o, 20);
      await put(o, v.ref, `${src}/`);
      const killed = await strata(['datasets', 'versions', 'commit', '--id', v.ref], {
        ...o,
        env: { STRATA_FAULT: point },
      });
      expect(killed.signal).toBe('SIGKILL');
      const again = await strataJson<VersionJson & { alreadyCommitted: boolean }>(
        ['datasets', 'versions', 'commit', '--id', v.ref],
        o,
      );
      expect(again).toMatchObject({ isCommitted: true, fileCount: 20 });
      expect(again.alreadyCommitted).toBe(point === 'commit:before-draft-delete');
      await expectOneVersion(o, v.ref, 20);
      const drafts = join(o.home, 'storage/datasets', v.datasetId, 'drafts');
      expect(existsSync(drafts) ? readdirSync(drafts) : []).toEqual([]);
    },
  );

  it('a draft left by a commit killed before it removed it is not counted by gc as a live version, and gc removes it', async () => {
    const o = { home: fresh() };
    const { v, src } = await versionWithTree(o, 20);
    await put(o, v.ref, `${src}/`);
    await strata(['datasets', 'versions', 'commit', '--id', v.ref], {
      ...o,
      env: { STRATA_FAULT: 'commit:before-draft-delete' },
    });
    const draft = `datasets/${v.datasetId}/drafts/${v.id}.json`;
    expect(existsSync(join(o.home, 'storage', draft))).toBe(true);
    const gc = await strataJson<{ manifests: number; drafts: number; staleDrafts: string[] }>(
      ['gc', '--storageProviderId', 'local'],
      o,
    );
    expect(gc).toMatchObject({ manifests: 1, drafts: 0, staleDrafts: [draft] });
    expect(existsSync(join(o.home, 'storage', draft))).toBe(false);
  });
});
