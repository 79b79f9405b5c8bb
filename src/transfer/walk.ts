import { lstatSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { NotFoundError, UsageError } from '../core/errors.js';
import { assertManifestPath, checkManifestPath } from '../core/paths-in-manifest.js';

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
  /** the content itself, already in memory (an upload's small files): read from here, not absPath */
  bytes?: Buffer;
}

/** What a put stores: how many files (and bytes, when counted), and the files themselves, streamed. */
export interface Sources {
  count: number;
  /** counted only when asked (a progress bar in a terminal wants it; nothing else does) */
  bytes?: number;
  files: Iterable<SourceFile>;
}

export const listedSources = (files: readonly SourceFile[]): Sources => ({
  count: files.length,
  bytes: files.reduce((n, f) => n + f.size, 0),
  files,
});

export interface WalkOptions {
  followSymlinks?: boolean;
  warn: (message: string) => void;
  /** also add up the sizes (a stat per file in the checking pass) */
  countBytes?: boolean;
}

interface Root {
  absolute: string;
  given: string;
  /** the version path its files land under (the file's own path for a file source) */
  prefix: string;
  kind: 'file' | 'dir';
}

const join2 = (prefix: string, name: string): string => (prefix === '' ? name : `${prefix}/${name}`);

/**
 * Maps sources onto version paths with Gradient's rule: a file lands at target/<basename>; a
 * directory lands at target/<dirname>/…, or, written with a trailing slash, its contents land
 * directly under target. Symlinks are skipped with a warning unless followed; empty directories
 * leave no trace (object stores have none).
 *
 * Memory stays flat in the number of files: the sources are checked here, in one pass of
 * directory reads (every path valid, no two sources mapping onto one path: all before anything
 * is stored), and `files` walks them again as it is read, one file at a time. Only a put of
 * several sources keeps a set of paths, to find collisions. The walk is synchronous: with many
 * small files a stat's promise costs more than the stat.
 */
export function planSources(sources: readonly string[], target: string, options: WalkOptions): Sources {
  const roots = sources.flatMap((source) => rootOf(source, target, options));
  const follow = options.followSymlinks ?? false;
  const owner = roots.length > 1 ? new Map<string, string>() : undefined;
  let count = 0;
  let bytes = 0;
  for (const root of roots) {
    for (const found of walkRoot(root, follow, options.warn)) {
      const other = owner?.get(found.path);
      if (other !== undefined) {
        throw new UsageError(
          `two sources map onto the same path "${found.path}": ${other} and ${found.absPath}; nothing was stored`,
          'EDUPLICATEPATH',
        );
      }
      owner?.set(found.path, found.absPath);
      count++;
      if (options.countBytes) bytes += (found.info ?? statSync(found.absPath)).size;
    }
  }
  const quiet = (): void => undefined; // the checking pass said it all
  return {
    count,
    bytes: options.countBytes ? bytes : undefined,
    files: {
      *[Symbol.iterator]() {
        for (const root of roots) {
          for (const found of walkRoot(root, follow, quiet)) {
            yield toSource(found.absPath, found.path, found.info ?? statSync(found.absPath));
          }
        }
      },
    },
  };
}

function rootOf(source: string, target: string, options: WalkOptions): Root[] {
  const absolute = resolve(source);
  let info: Stats;
  try {
    info = options.followSymlinks ? statSync(absolute) : lstatSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`source path ${source} does not exist`, 'ENOSOURCE');
    }
    throw error;
  }
  if (info.isSymbolicLink()) {
    options.warn(`skipping symlink ${source} (use --follow-symlinks to store what it points at)`);
    return [];
  }
  const contentsOnly = info.isDirectory() && /[/\\]$/.test(source);
  const prefix = contentsOnly ? target : join2(target, basename(absolute));
  if (info.isDirectory()) return [{ absolute, given: source, prefix, kind: 'dir' }];
  if (info.isFile()) return [{ absolute, given: source, prefix: assertManifestPath(prefix), kind: 'file' }];
  throw new UsageError(`source ${source} is neither a file nor a directory`, 'ESOURCE');
}

/** A file found by the walk; `info` is its stat when the walk needed one anyway (followed links). */
interface Found {
  absPath: string;
  path: string;
  info?: Stats;
}

function* walkRoot(root: Root, follow: boolean, warn: (message: string) => void): Generator<Found> {
  if (root.kind === 'file') yield { absPath: root.absolute, path: root.prefix };
  else yield* walkDir(root.absolute, root.prefix, follow, warn, new Set());
}

function* walkDir(
  dir: string,
  prefix: string,
  follow: boolean,
  warn: (message: string) => void,
  /** directories (dev:ino) already walked through followed symlinks */
  visited: Set<string>,
): Generator<Found> {
  const entries: Dirent[] = readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const unreadable = namesNotUtf8(dir, entries);
  // Concatenation: `dir` is clean already and a name is one component (path.join's normalizing
  // was ~10 ms of a 10,000-file walk, which runs twice).
  const dirSlash = dir.endsWith('/') ? dir : `${dir}/`;
  for (const entry of entries) {
    const absPath = dirSlash + entry.name;
    if (unreadable?.has(entry.name)) {
      warn(
        `skipping ${JSON.stringify(absPath)}: its name is not valid UTF-8 (manifests hold UTF-8 paths); rename it to store it`,
      );
      continue;
    }
    const path = join2(prefix, entry.name);
    // The prefix is a clean path already: the name alone decides (the whole path says why).
    if (checkManifestPath(entry.name) !== undefined || path.length > 4096) assertManifestPath(path);
    if (entry.isSymbolicLink()) {
      if (!follow) {
        warn(`skipping symlink ${absPath} (use --follow-symlinks to store what it points at)`);
        continue;
      }
      const target = statSync(absPath, { throwIfNoEntry: false });
      if (!target) {
        warn(`skipping broken symlink ${absPath}`);
        continue;
      }
      const id = `${target.dev}:${target.ino}`;
      if (target.isDirectory() && visited.has(id)) {
        warn(`skipping symlink ${absPath}: it loops back to a directory already stored`);
        continue;
      }
      visited.add(id);
      if (target.isDirectory()) yield* walkDir(absPath, path, follow, warn, visited);
      else if (target.isFile()) yield { absPath, path, info: target };
    } else if (entry.isDirectory()) {
      yield* walkDir(absPath, path, follow, warn, visited);
    } else if (entry.isFile()) {
      yield { absPath, path };
    } else {
      warn(`skipping ${absPath}: not a regular file`);
    }
  }
}

/**
 * The entries whose names are not valid UTF-8: Node decodes them with U+FFFD in place of the bad
 * bytes, and the decoded name opens nothing. Only a directory with such a character in a name is
 * read again as bytes, to tell a bad name from a name that holds U+FFFD itself.
 */
function namesNotUtf8(dir: string, entries: Dirent[]): Set<string> | undefined {
  if (!entries.some((e) => e.name.includes('\uFFFD'))) return undefined;
  const bad = new Set<string>();
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) bad.add(name);
  }
  return bad;
}

function toSource(absPath: string, path: string, info: Stats): SourceFile {
  return {
    absPath,
    path,
    size: info.size,
    mode: info.mode & 0o777,
    mtimeMs: Math.floor(info.mtimeMs),
    stamp: stampOf(info),
  };
}

export const stampOf = (info: Stats): string => `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
