// A put skips reading files whose stat stamp (device, inode, size, mtime, ctime) is unchanged
// since they were hashed; a file rewritten in place is read again, even at the same size with
// its old mtime put back.
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strataJson } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion, put } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-hash-cache-');

beforeAll(assertBuilt);

describe('the hash cache of puts', () => {
  it('a file rewritten at the same size with its old mtime restored is hashed and stored again', async () => {
    const o = { home: fresh() };
    const src = join(fresh(), 'data');
    makeTree(src, { count: 50, seed: 3, maxSize: 512 });
    await createDataset(o);
    const v1 = await openVersion(o, 'demo');
    await put(o, v1.ref, `${src}/`);

    const victim = readTree(src)[7]!;
    const path = join(src, victim.path);
    const old = statSync(path);
    const bytes = readFileSync(path);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(path, bytes);
    utimesSync(path, old.atime, old.mtime);

    const v2 = await openVersion(o, 'demo');
    const second = await put(o, v2.ref, `${src}/`);
    expect(second.bytesUploaded).toBe(bytes.length);
    const listed = await listFilesJson(o, v2.ref);
    expect(listed.find((f) => f.path === victim.path)?.sha256).toBe(readTree(src)[7]!.sha256);
    const diff = await strataJson<{ changed: string[] }>(
      ['datasets', 'versions', 'diff', '--id', v1.ref, '--to', v2.ref],
      o,
    );
    expect(diff.changed).toEqual([victim.path]);
  });
});
