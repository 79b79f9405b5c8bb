// `files get` into a directory that already has files: what was Strata's may be replaced, what a
// person changed may not (without --force), files already right are not rewritten, and --mirror
// removes what the version does not have.
import { existsSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-get-into-');

beforeAll(assertBuilt);

interface GetJson {
  files: number;
  unchanged: number;
  removed: number;
}

/** A home with dataset demo: v1 {a, b, sub/c}, v2 {a, b changed, sub/c, d added}. */
async function twoVersions(): Promise<{ o: CliOptions; v1: VersionJson; v2: VersionJson }> {
  const o = { home: fresh() };
  await createDataset(o);
  const src = writeFiles(fresh(), { 'a.txt': 'alpha\n', 'b.txt': 'beta\n', 'sub/c.txt': 'gamma\n' });
  const v1 = await committedVersion(o, 'demo', `${src}/`);
  writeFiles(src, { 'b.txt': 'beta, second\n', 'd.txt': 'delta\n' });
  const v2 = await committedVersion(o, 'demo', `${src}/`);
  return { o, v1, v2 };
}

/** The variants of get: through the cache (auto, hardlink) and straight from storage. */
const WAYS: [string, string[]][] = [
  ['the cache', []],
  ['hardlinks', ['--link', 'hardlink']],
  ['--no-cache', ['--no-cache']],
];

const get = (o: CliOptions, ref: string, target: string, ...flags: string[]): Promise<GetJson> =>
  strataJson<GetJson>(['datasets', 'files', 'get', '--id', ref, '--target-path', target, ...flags], o);

const contents = (dir: string): Record<string, string> =>
  Object.fromEntries(readTree(dir).map((f) => [f.path, f.sha256]));

describe.concurrent.each(WAYS)('files get into a directory with files, through %s', (_, way) => {
  it('v2 over an untouched v1: replaces what changed, leaves what is right unwritten', async () => {
    const { o, v1, v2 } = await twoVersions();
    const target = fresh();
    expect(await get(o, v1.ref, target, ...way)).toMatchObject({ files: 3, unchanged: 0, removed: 0 });
    const inodeOfA = statSync(join(target, 'a.txt')).ino;
    expect(await get(o, v2.ref, target, ...way)).toMatchObject({ files: 2, unchanged: 2, removed: 0 });
    expect(statSync(join(target, 'a.txt')).ino).toBe(inodeOfA); // not rewritten
    const again = await get(o, v2.ref, target, ...way);
    expect(again).toMatchObject({ files: 0, unchanged: 4 });
    // And back to v1: d.txt is not v1's, and stays (no --mirror).
    await get(o, v1.ref, target, ...way);
    expect(Object.keys(contents(target)).sort()).toEqual(['a.txt', 'b.txt', 'd.txt', 'sub/c.txt']);
  });

  it('a local edit stops the get before anything is written; --force replaces it', async () => {
    const { o, v1, v2 } = await twoVersions();
    const target = fresh();
    await get(o, v1.ref, target, ...way);
    // The edit keeps the size and puts the mtime back: only the change time tells.
    const b = join(target, 'b.txt');
    const { mtime } = statSync(b);
    // (a hardlink is the cache's inode: an edit in place would change the cache, so it is replaced)
    if (way.includes('hardlink')) rmSync(b);
    writeFileSync(b, 'BETA\n');
    utimesSync(b, mtime, mtime);
    const before = statFiles(target);
    const { line, error } = await expectFailure(
      ['datasets', 'files', 'get', '--id', v2.ref, '--target-path', target, ...way],
      o,
      4,
    );
    expect(error.code).toBe('ELOCALCHANGE');
    expect(line).toBe(
      `Error: ${b} differs from ${v2.ref} and from what strata last put there; nothing was changed. --force replaces such files; --mirror also removes files the version does not have`,
    );
    expect(statFiles(target)).toEqual(before); // not even d.txt
    expect(await get(o, v2.ref, target, ...way, '--force')).toMatchObject({ files: 2, unchanged: 2 });
    expect(contents(target)).toEqual(contents(await gotFresh(o, v2.ref)));
  });

  it('--mirror removes what the version does not have, but not a file strata did not put there', async () => {
    const { o, v1, v2 } = await twoVersions();
    const target = fresh();
    await get(o, v2.ref, target, ...way);
    writeFiles(target, { 'notes/mine.txt': 'my notes\n' });
    const before = statFiles(target);
    const { line } = await expectFailure(
      ['datasets', 'files', 'get', '--id', v1.ref, '--target-path', target, '--mirror', ...way],
      o,
      4,
    );
    expect(line).toBe(
      `Error: ${join(target, 'notes/mine.txt')} is not in ${v1.ref} and not as strata left it; nothing was changed. --force replaces and removes such files`,
    );
    expect(statFiles(target)).toEqual(before);
    expect(await get(o, v1.ref, target, '--mirror', '--force', ...way)).toMatchObject({ removed: 2 });
    expect(contents(target)).toEqual(contents(await gotFresh(o, v1.ref)));
    expect(existsSync(join(target, 'notes'))).toBe(false); // the directory it left empty
  });
});

describe.concurrent('files get into a directory with files', () => {
  it('a file never put there by strata, with other bytes, is refused; with the same bytes it is kept', async () => {
    const { o, v1 } = await twoVersions();
    const target = writeFiles(fresh(), { 'a.txt': 'alpha\n', 'b.txt': 'not beta\n' });
    await expectFailure(['datasets', 'files', 'get', '--id', v1.ref, '--target-path', target], o, 4);
    expect(existsSync(join(target, 'sub'))).toBe(false);
    writeFileSync(join(target, 'b.txt'), 'beta\n');
    expect(await get(o, v1.ref, target)).toMatchObject({ files: 1, unchanged: 2 });
  });

  it('--mirror with --source-path removes only under the paths it gets', async () => {
    const { o, v1, v2 } = await twoVersions();
    const target = fresh();
    await get(o, v2.ref, target);
    writeFiles(target, { 'sub/extra.txt': 'x\n' });
    await strataJson(
      [
        'datasets',
        'files',
        'get',
        '--id',
        v1.ref,
        '--target-path',
        target,
        '--source-path',
        '/sub',
        '--mirror',
        '--force',
      ],
      o,
    );
    // sub/ is v1's sub/; d.txt, outside it, stays.
    expect(Object.keys(contents(target)).sort()).toEqual(['a.txt', 'b.txt', 'd.txt', 'sub/c.txt']);
  });
});

async function gotFresh(o: CliOptions, ref: string): Promise<string> {
  const dir = fresh();
  await get(o, ref, dir);
  return dir;
}
