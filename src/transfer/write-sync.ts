import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fchmodSync,
  openSync,
  renameSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { failedAt } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { setMtimeMsSync } from '../core/mtime.js';

/**
 * statfs types of local disks, where a loop of synchronous file calls beats promises (each of
 * which costs more than its call). On a network filesystem every call waits on the network, so
 * files are written by parallel asynchronous calls instead.
 */
const LOCAL_FILESYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // XFS
  0x9123683e, // Btrfs
  0x01021994, // tmpfs
  0x2fc12fc1, // ZFS
  0xf2f52010, // F2FS
  0x794c7630, // overlayfs
]);

/** Whether these directories (or, for one not made yet, where it will be) are all on local disks. */
export const onLocalDisks = (dirs: readonly string[]): boolean =>
  dirs.every((dir) => LOCAL_FILESYSTEMS.has(statfsSync(nearestExisting(dir)).type));

/** The directory itself, or the nearest of its parents that exists. */
function nearestExisting(dir: string): string {
  let at = resolve(dir);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** Whether a file created with this mode gets all of it (the umask strips none of its bits). */
export const createdWithMode = (mode: number): boolean => (mode & UMASK) === 0;
// process.umask() without an argument only reads it (a documentation-only deprecation).
const UMASK = process.umask();

/** A file to put in place: through its temp file, with its permission bits and mtime. */
export interface Placement {
  temp: string;
  destination: string;
  /** permission bits */
  mode: number;
  mtimeMs: number;
}

/** What sends a file to the asynchronous path, which says or repairs it. */
const RETRY_CODES = new Set(['ENOENT', 'EEXIST', 'EISDIR', 'ENOTEMPTY', 'ENOTDIR', 'EPERM', 'EXDEV', 'EOPNOTSUPP']);
export const leftForAsync = (error: unknown): boolean => RETRY_CODES.has((error as NodeJS.ErrnoException).code ?? '');

/**
 * Writes one file synchronously from its verified content (or, without it, as a clone of the
 * file `cloneOf`) into its temp file, gives it mode and mtime, and renames it into place. false
 * sends it to the asynchronous path: something in the way, a file gone (which that path reports
 * or repairs). Other failures throw.
 */
export function writePlacedSync(job: Placement, content: { bytes: Buffer } | { cloneOf: string }): boolean {
  let fd: number | undefined;
  try {
    if ('cloneOf' in content) {
      copyFileSync(content.cloneOf, job.temp, constants.COPYFILE_FICLONE_FORCE);
      chmodSync(job.temp, job.mode);
      fd = openSync(job.temp, 'r');
    } else {
      fd = openSync(job.temp, 'wx', job.mode);
      writeSync(fd, content.bytes);
      if (!createdWithMode(job.mode)) fchmodSync(fd, job.mode);
    }
    setMtimeMsSync(fd, job.mtimeMs);
    closeSync(fd);
    fd = undefined;
    faultPoint('target:before-rename');
    renameSync(job.temp, job.destination);
    return true;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(job.temp);
    } catch {
      // not made, or gone
    }
    if (!leftForAsync(error)) throw failedAt(error, dirname(job.destination));
    return false;
  }
}
