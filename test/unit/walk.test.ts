import { chmodSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '../../src/core/errors.js';
import { planSources, type SourceFile, type WalkOptions } from '../../src/transfer/walk.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-walk-');

/** Writes files (path → content) under root, creating directories. */
function write(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

async function plan(
  sources: string[],
  target = '',
  options: Partial<WalkOptions> = {},
): Promise<{ files: SourceFile[]; paths: string[]; warnings: string[] }> {
  const warnings: string[] = [];
  const files = [...planSources(sources, target, { warn: (m) => warnings.push(m), ...options }).files];
  return { files, paths: files.map((f) => f.path), warnings };
}

describe("planSources: Gradient's put mapping", () => {
  it('puts a file at target/<basename>', async () => {
    const root = fresh();
    write(root, { 'deep/down/labels.csv': 'a,b' });
    expect((await plan([join(root, 'deep/down/labels.csv')])).paths).toEqual(['labels.csv']);
    expect((await plan([join(root, 'deep/down/labels.csv')], 'train/meta')).paths).toEqual(['train/meta/labels.csv']);
  });

  it('puts a directory without a trailing slash at target/<dirname>/…', async () => {
    const root = fresh();
    write(root, { 'images/a.png': '1', 'images/sub/b.png': '2' });
    expect((await plan([join(root, 'images')])).paths).toEqual(['images/a.png', 'images/sub/b.png']);
    expect((await plan([join(root, 'images')], 'train')).paths).toEqual([
      'train/images/a.png',
      'train/images/sub/b.png',
    ]);
  });

  it('puts the contents of a directory written with a trailing slash directly under target', async () => {
    const root = fresh();
    write(root, { 'images/a.png': '1', 'images/sub/b.png': '2' });
    expect((await plan([`${join(root, 'images')}/`])).paths).toEqual(['a.png', 'sub/b.png']);
    expect((await plan([`${join(root, 'images')}/`], 'train')).paths).toEqual(['train/a.png', 'train/sub/b.png']);
  });

  it('combines several sources and records size, mode and mtime of each file', async () => {
    const root = fresh();
    write(root, { 'run.sh': '#!/bin/sh\n', 'data/x.bin': 'xxxx' });
    chmodSync(join(root, 'run.sh'), 0o755);
    chmodSync(join(root, 'data/x.bin'), 0o640);
    utimesSync(join(root, 'data/x.bin'), new Date(Date.UTC(2024, 0, 1)), new Date(Date.UTC(2024, 0, 1)));
    const { files } = await plan([join(root, 'run.sh'), join(root, 'data')], 'v');
    const stampOf = (path: string): string => {
      const s = statSync(path);
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    };
    expect(files).toEqual([
      {
        absPath: join(root, 'run.sh'),
        path: 'v/run.sh',
        size: 10,
        mode: 0o755,
        mtimeMs: expect.any(Number) as number,
        stamp: stampOf(join(root, 'run.sh')),
      },
      {
        absPath: join(root, 'data/x.bin'),
        path: 'v/data/x.bin',
        size: 4,
        mode: 0o640,
        mtimeMs: Date.UTC(2024, 0, 1),
        stamp: stampOf(join(root, 'data/x.bin')),
      },
    ]);
  });

  it('a stamp changes when the content is rewritten, even at the same size', async () => {
    const root = fresh();
    write(root, { 'a.bin': 'aaaa' });
    const before = (await plan([join(root, 'a.bin')])).files[0]!.stamp;
    writeFileSync(join(root, 'a.bin'), 'bbbb');
    const after = (await plan([join(root, 'a.bin')])).files[0]!.stamp;
    expect(after).not.toBe(before);
  });

  it('records no trace of empty directories', async () => {
    const root = fresh();
    write(root, { 'tree/keep.txt': 'k' });
    mkdirSync(join(root, 'tree/empty/nested'), { recursive: true });
    expect((await plan([join(root, 'tree')])).paths).toEqual(['tree/keep.txt']);
    expect((await plan([join(root, 'tree/empty')])).paths).toEqual([]);
  });

  it('fails when two files map onto one path, naming both, before anything is stored', async () => {
    const root = fresh();
    write(root, { 'one/a.txt': '1', 'two/a.txt': '2' });
    const error = await plan([join(root, 'one/a.txt'), join(root, 'two/a.txt')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'EDUPLICATEPATH', exitCode: 2 });
    expect((error as Error).message).toContain('"a.txt"');
    expect((error as Error).message).toContain(join(root, 'one/a.txt'));
    expect((error as Error).message).toContain(join(root, 'two/a.txt'));
  });

  it('fails when two directories spill their contents onto one path', async () => {
    const root = fresh();
    write(root, { 'one/sub/a.txt': '1', 'one/b.txt': '1', 'two/sub/a.txt': '2' });
    await expect(plan([`${join(root, 'one')}/`, `${join(root, 'two')}/`])).rejects.toMatchObject({
      code: 'EDUPLICATEPATH',
    });
    // The same directories under their own names do not collide.
    expect((await plan([join(root, 'one'), join(root, 'two')])).paths).toEqual([
      'one/b.txt',
      'one/sub/a.txt',
      'two/sub/a.txt',
    ]);
  });

  it('fails when a file and a directory content collide, and when one source is given twice', async () => {
    const root = fresh();
    write(root, { 'a.txt': 'top', 'dir/a.txt': 'inner' });
    await expect(plan([join(root, 'a.txt'), `${join(root, 'dir')}/`])).rejects.toMatchObject({
      code: 'EDUPLICATEPATH',
    });
    await expect(plan([join(root, 'dir'), join(root, 'dir')])).rejects.toMatchObject({ code: 'EDUPLICATEPATH' });
  });

  it('fails with not-found for a missing source', async () => {
    const root = fresh();
    const error = await plan([join(root, 'nope')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'ENOSOURCE', exitCode: 3 });
    expect((error as Error).message).toContain(join(root, 'nope'));
  });

  it('skips symlinks with a warning unless followSymlinks', async () => {
    const root = fresh();
    const outside = fresh();
    write(root, { 'tree/real.txt': 'real' });
    write(outside, { 'secret.txt': 'outside file', 'dir/inner.txt': 'outside dir' });
    symlinkSync(join(outside, 'secret.txt'), join(root, 'tree/file-link'));
    symlinkSync(join(outside, 'dir'), join(root, 'tree/dir-link'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'top-link'));

    const skipped = await plan([join(root, 'tree'), join(root, 'top-link')]);
    expect(skipped.paths).toEqual(['tree/real.txt']);
    expect(skipped.warnings).toHaveLength(3);
    for (const name of ['tree/file-link', 'tree/dir-link', 'top-link']) {
      expect(skipped.warnings.some((w) => w.includes(join(root, name)) && w.includes('--follow-symlinks'))).toBe(true);
    }

    const followed = await plan([join(root, 'tree'), join(root, 'top-link')], '', { followSymlinks: true });
    expect(followed.warnings).toEqual([]);
    expect(followed.paths).toEqual(['tree/dir-link/inner.txt', 'tree/file-link', 'tree/real.txt', 'top-link']);
    expect(followed.files.find((f) => f.path === 'top-link')?.size).toBe('outside file'.length);
  });

  it('with followSymlinks, skips broken links and stops at a loop, with warnings', async () => {
    const root = fresh();
    write(root, { 'tree/a.txt': 'a' });
    symlinkSync(join(root, 'nowhere'), join(root, 'tree/broken'));
    symlinkSync(join(root, 'tree'), join(root, 'tree/loop'));
    const { paths, warnings } = await plan([join(root, 'tree')], '', { followSymlinks: true });
    expect(paths).toContain('tree/a.txt');
    expect(paths.length).toBeLessThan(10);
    expect(warnings.some((w) => w.includes('broken symlink'))).toBe(true);
    expect(warnings.some((w) => w.includes('loops back'))).toBe(true);
  });

  it('counts files (and bytes when asked) while checking, warns once, and walks the files only when read', () => {
    const root = fresh();
    write(root, { 'tree/a.txt': 'aa', 'tree/sub/b.txt': 'bbbb' });
    symlinkSync(join(root, 'tree/a.txt'), join(root, 'tree/link'));
    const warnings: string[] = [];
    const sources = planSources([join(root, 'tree')], '', { warn: (m) => warnings.push(m), countBytes: true });
    expect([sources.count, sources.bytes, warnings.length]).toEqual([2, 6, 1]);
    write(root, { 'tree/c.txt': 'added after the check' });
    expect([...sources.files].map((f) => f.path)).toEqual(['tree/a.txt', 'tree/c.txt', 'tree/sub/b.txt']);
    expect([...sources.files]).toHaveLength(3);
    expect(warnings).toHaveLength(1);
    expect(planSources([join(root, 'tree')], '', { warn: () => undefined }).bytes).toBeUndefined();
  });

  it('refuses a file name that is not a clean version path deep in a tree while checking, before any file is read', () => {
    const root = fresh();
    write(root, { 'tree/ok.txt': 'ok', 'tree/deep/bad\\name.txt': 'x' });
    expect(() => planSources([join(root, 'tree')], '', { warn: () => undefined })).toThrow(UsageError);
  });

  it('refuses a target path that is not a clean version path', async () => {
    const root = fresh();
    write(root, { 'a.txt': 'a' });
    await expect(plan([join(root, 'a.txt')], '../up')).rejects.toBeInstanceOf(UsageError);
  });
});
