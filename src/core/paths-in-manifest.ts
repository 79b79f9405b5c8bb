import { IntegrityError, UsageError } from './errors.js';

/**
 * Manifest paths are POSIX, relative, normalized ("a/b.txt"): no leading "/", no "." or ".."
 * segments, no empty segments, no NUL or backslash. Anything else could escape the directory a
 * version is materialized into, so it is refused wherever a path enters the system.
 */
/** The longest file name, in bytes, that ext4, XFS, Btrfs, ZFS and APFS take. */
export const NAME_MAX = 255;

export function checkManifestPath(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  if (path.length > 4096) return 'path longer than 4096 characters';
  if (path.includes('\0')) return 'path contains a NUL byte';
  if (path.includes('\\')) return 'path contains a backslash';
  if (path.startsWith('/')) return 'absolute path';
  for (const segment of path.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `"${segment}" segment`;
    // Linux filesystems (and most others) take at most 255 bytes a name: longer could never be got.
    if (segment.length > NAME_MAX / 4 && Buffer.byteLength(segment) > NAME_MAX) {
      return `a name longer than ${NAME_MAX} bytes (${Buffer.byteLength(segment)}), which no common filesystem can hold`;
    }
  }
  return undefined;
}

export function assertManifestPath(path: string): string {
  const problem = checkManifestPath(path);
  if (problem) throw new UsageError(`unsafe path "${path}": ${problem}`, 'EPATH');
  return path;
}

/** Refuses, before a get writes anything, a manifest path read from the catalog that could escape its target. */
export function refuseUnsafePath(path: string): void {
  const problem = checkManifestPath(path);
  if (problem)
    throw new IntegrityError(`refusing manifest path "${path}": ${problem}; nothing was written`, 'EUNSAFEPATH');
}

/** Turns a user-given version path ("/", "/a/b/", "a/b") into manifest form ("" for the root). */
export function normalizeVersionPath(input: string): string {
  const trimmed = input.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  return assertManifestPath(trimmed);
}

/** The folders a manifest path lies in, outermost first: "a/b/c" → ["a", "a/b"]. */
export function parentFolders(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
