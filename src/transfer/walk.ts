import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { NotFoundError, UsageError } from '../core/errors.js';
import { assertManifestPath } from '../core/paths-in-manifest.js';

export interface SourceFile {
  /** where the bytes are on this machine */
  absPath: string;
  /** where they land in the version (manifest path) */
  path: string;
  size: number;
  mode: number;
  mtimeMs: number;
  /** device, inode, size, mtime and ctime: while it holds, the content has not changed */
  stamp?: string;
}

export interface WalkOptions {
  followSymlinks?: boolean;
  warn: (message: string) => void;
  /** directories (dev:ino) already walked through followed symlinks */
  visited?: Set<string>;
}

const join2 = (prefix: string, name: string): string => (prefix === '' ? name : `${prefix}/${name}`);

/**
 * Maps sources onto version paths with Gradient's rule: a file lands at target/<basename>; a
 * directory lands at target/<dirname>/…, or, written with a trailing slash, its contents land
 * directly under target. Symlinks are skipped with a warning unless followed; empty directories
 * leave no trace (object stores have none). Two sources that map onto one path fail here, before
 * anything is stored.
 */
export async function planSources(
  sources: readonly string[],
  target: string,
  options: WalkOptions,
): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  // Paths of one walk are distinct; only several sources can collide (and only then is the map,
  // a string per file, worth its memory).
  const owner = sources.length > 1 ? new Map<string, string>() : undefined;
  options = { ...options, visited: new Set() };
  for (const source of sources) {
    const absolute = resolve(source);
    const info = await statSource(absolute, source, options.followSymlinks ?? false);
    if (info.isSymbolicLink()) {
      options.warn(`skipping symlink ${source} (use --follow-symlinks to store what it points at)`);
      continue;
    }
    const contentsOnly = info.isDirectory() && /[/\\]$/.test(source);
    const prefix = contentsOnly ? target : join2(target, basename(absolute));
    const found: SourceFile[] = [];
    if (info.isDirectory()) await walkDir(absolute, prefix, options, found);
    else if (info.isFile()) found.push(toSource(absolute, prefix, info));
    else throw new UsageError(`source ${source} is neither a file nor a directory`, 'ESOURCE');
    for (const file of found) {
      const other = owner?.get(file.path);
      if (other !== undefined) {
        throw new UsageError(
          `two sources map onto the same path "${file.path}": ${other} and ${file.absPath}; nothing was stored`,
          'EDUPLICATEPATH',
        );
      }
      owner?.set(file.path, file.absPath);
      files.push(file);
    }
  }
  return files;
}

async function statSource(absolute: string, given: string, follow: boolean): Promise<Stats> {
  try {
    return follow ? await stat(absolute) : await lstat(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`source path ${given} does not exist`, 'ENOSOURCE');
    }
    throw error;
  }
}

function toSource(absPath: string, path: string, info: Stats): SourceFile {
  return {
    absPath,
    path: assertManifestPath(path),
    size: info.size,
    mode: info.mode & 0o777,
    mtimeMs: Math.floor(info.mtimeMs),
    stamp: `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`,
  };
}

async function walkDir(dir: string, prefix: string, options: WalkOptions, out: SourceFile[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const absPath = join(dir, entry.name);
    const path = join2(prefix, entry.name);
    if (entry.isSymbolicLink()) {
      if (!options.followSymlinks) {
        options.warn(`skipping symlink ${absPath} (use --follow-symlinks to store what it points at)`);
        continue;
      }
      const target = await stat(absPath).catch(() => undefined);
      if (!target) {
        options.warn(`skipping broken symlink ${absPath}`);
        continue;
      }
      const id = `${target.dev}:${target.ino}`;
      if (target.isDirectory() && options.visited?.has(id)) {
        options.warn(`skipping symlink ${absPath}: it loops back to a directory already stored`);
        continue;
      }
      options.visited?.add(id);
      if (target.isDirectory()) await walkDir(absPath, path, options, out);
      else if (target.isFile()) out.push(toSource(absPath, path, target));
    } else if (entry.isDirectory()) {
      await walkDir(absPath, path, options, out);
    } else if (entry.isFile()) {
      out.push(toSource(absPath, path, await stat(absPath)));
    } else {
      options.warn(`skipping ${absPath}: not a regular file`);
    }
  }
}
