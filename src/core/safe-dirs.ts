import { lstatSync, mkdirSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, UsageError } from './errors.js';

/**
 * Creates the directories of manifest paths under a root, refusing to pass through a symlink
 * (it could lead outside the root) or a file. Each directory is checked once per run.
 */
export class SafeDirs {
  private readonly made = new Map<string, Promise<void>>();
  private readonly madeSync = new Set<string>();

  constructor(private readonly root: string) {}

  /** Makes the parent directories of a manifest path ("a/b/c.txt" → a, a/b). */
  async parentsOf(path: string): Promise<void> {
    const segments = path.split('/').slice(0, -1);
    await this.one('');
    for (let i = 1; i <= segments.length; i++) await this.one(segments.slice(0, i).join('/'));
  }

  /** parentsOf without promises, for synchronous fast paths. */
  parentsOfSync(path: string): void {
    const segments = path.split('/').slice(0, -1);
    for (let i = 0; i <= segments.length; i++) {
      const relative = segments.slice(0, i).join('/');
      if (this.madeSync.has(relative)) continue;
      if (relative === '') mkdirSync(this.root, { recursive: true });
      else {
        const dir = join(this.root, ...relative.split('/'));
        const info = lstatSync(dir, { throwIfNoEntry: false });
        if (info?.isSymbolicLink()) {
          throw new IntegrityError(
            `refusing to write through symlink ${dir}: it could lead outside the target`,
            'EUNSAFEPATH',
          );
        }
        if (info && !info.isDirectory())
          throw new UsageError(`cannot write under ${dir}: it is not a directory`, 'EPATH');
        if (!info) mkdirSync(dir);
      }
      this.madeSync.add(relative);
    }
  }

  private one(relative: string): Promise<void> {
    let pending = this.made.get(relative);
    if (!pending) {
      pending = this.check(relative);
      this.made.set(relative, pending);
    }
    return pending;
  }

  private async check(relative: string): Promise<void> {
    if (relative === '') {
      await mkdir(this.root, { recursive: true });
      return;
    }
    const path = join(this.root, ...relative.split('/'));
    const info = await lstat(path).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      throw new IntegrityError(
        `refusing to write through symlink ${path}: it could lead outside the target`,
        'EUNSAFEPATH',
      );
    }
    if (info && !info.isDirectory()) throw new UsageError(`cannot write under ${path}: it is not a directory`, 'EPATH');
    if (!info) {
      await mkdir(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
  }
}
