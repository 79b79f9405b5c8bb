import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError, IntegrityError, UsageError } from './errors.js';
import { sweepAbandonedTemps, TARGET_TEMP_PREFIX } from './temp-name.js';

/**
 * Creates the directories of manifest paths under a root, refusing to pass through a symlink
 * (it could lead outside the root) or a file. Each directory is checked once per run, with
 * synchronous calls: a handful per directory, cheaper than promises on the hot path of
 * placing thousands of files. A directory that was there already loses the temp files a killed
 * earlier run left in it.
 */
export class SafeDirs {
  private readonly made = new Set<string>();

  constructor(private readonly root: string) {}

  /** Makes the parent directories of a manifest path ("a/b/c.txt" → a, a/b). */
  parentsOf(path: string): void {
    const segments = path.split('/').slice(0, -1);
    for (let i = 0; i <= segments.length; i++) {
      const relative = segments.slice(0, i).join('/');
      if (this.made.has(relative)) continue;
      if (relative === '') {
        if (!makeDir(this.root, true)) sweepAbandonedTemps(this.root, TARGET_TEMP_PREFIX);
      } else this.check(join(this.root, ...segments.slice(0, i)));
      this.made.add(relative);
    }
  }

  private check(dir: string): void {
    const info = lstatSync(dir, { throwIfNoEntry: false });
    if (info?.isSymbolicLink()) {
      throw new IntegrityError(
        `refusing to write through symlink ${dir}: it could lead outside the target`,
        'EUNSAFEPATH',
      );
    }
    if (info && !info.isDirectory()) throw new UsageError(`cannot write under ${dir}: it is not a directory`, 'EPATH');
    if (!info) makeDir(dir, false);
    else sweepAbandonedTemps(dir, TARGET_TEMP_PREFIX);
  }
}

/**
 * mkdir, where a directory that cannot be made is this machine's to fix: one line of the
 * environment class. Says whether it made the directory (false: it was there).
 */
function makeDir(dir: string, recursive: boolean): boolean {
  try {
    return mkdirSync(dir, { recursive }) !== undefined || !recursive;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new EnvironmentError(
        `cannot create ${dir}: ${code === 'EROFS' ? 'read-only filesystem' : 'permission denied'}`,
        code === 'EROFS' ? 'EROFS' : 'EACCES',
      );
    }
    throw error;
  }
}
