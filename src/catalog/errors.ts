import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnvironmentError, type StrataError } from '../core/errors.js';

/** Less room than this on the catalog's filesystem, and SQLite's write errors are a full disk. */
const FULL_BYTES = 1024 * 1024;

function diskFull(path: string): boolean {
  try {
    const fs = statfsSync(dirname(path));
    return fs.bavail * fs.bsize < FULL_BYTES;
  } catch {
    return false;
  }
}

/** How long a command waits for another's write transaction before saying the catalog is locked. */
export const BUSY_TIMEOUT_MS = Number(process.env.STRATA_BUSY_TIMEOUT_MS) || 10_000;

/** Where a damaged catalog is said: the one way out is a rebuild from the buckets. */
export function catalogDamaged(path: string, what: string): EnvironmentError {
  return new EnvironmentError(
    `the catalog ${path} is damaged (${what}); nothing was changed. Rebuild it from the buckets with: strata catalog rebuild`,
    'ECATALOGDAMAGED',
  );
}

/**
 * A SQLite failure as the one line a person needs: the catalog named, what is wrong with this
 * machine, what to do. undefined for anything that is not SQLite's.
 */
export function catalogFailure(error: unknown, path: string): StrataError | undefined {
  const { code, message } = error as { code?: unknown; message?: string };
  if ((error as Error | undefined)?.name !== 'SqliteError' || typeof code !== 'string') return undefined;
  const say = (text: string, c: string): EnvironmentError => new EnvironmentError(text, c, { cause: error });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return catalogDamaged(path, message ?? code);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return say(
      `the catalog ${path} is locked by another process (waited ${BUSY_TIMEOUT_MS / 1000} s); try again when it is done`,
      'ECATALOGLOCKED',
    );
  }
  // SQLite says "disk I/O error" when its write-ahead log cannot grow: a full disk too.
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && diskFull(path))) {
    return say(`the disk holding the catalog ${path} is full; free space and run the same command again`, 'ENOSPC');
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') {
    return say(`cannot write the catalog ${path} (${message ?? code}); check its permissions`, 'ECATALOGACCESS');
  }
  if (code.startsWith('SQLITE_IOERR'))
    return say(`cannot read or write the catalog ${path} (${message ?? code})`, 'EIO');
  return undefined;
}
