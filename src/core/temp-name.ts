import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';

// Host, pid and a random part once; a counter after. A random name per file costs more than the
// write on the hot path of many small files, and this one is as unique: other processes (on
// other hosts too, for a shared cache) differ in the first part.
const HOST = hostname();
const PROCESS_PART = `${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`;
let count = 0;

/** A name no other file has, for a temp file written beside its final place and renamed there. */
export const tempName = (prefix: string): string => `${prefix}${PROCESS_PART}-${(++count).toString(36)}`;

/** Temp files in a directory Strata writes files into (a get's target): leftovers are recognizable. */
export const TARGET_TEMP_PREFIX = '.strata-tmp-';

/** A temp file beside `destination`, to be renamed there once written and checked. */
export const tempBeside = (destination: string, prefix = TARGET_TEMP_PREFIX): string =>
  `${dirname(destination)}/${tempName(prefix)}`;

/** A temp file of another host is taken for abandoned once this old (its process cannot be asked). */
const FOREIGN_STALE_MS = 24 * 3_600_000;
const NAME = /^(.*)-(\d+)-[0-9a-f]{8}-[0-9a-z]+$/;

/**
 * Whether a file named by tempName was left by a process that is gone (killed in the middle of a
 * write): on this host, one whose pid is not running; on another, one a day old.
 */
export function isAbandonedTemp(name: string, prefix: string, mtimeMs: () => number): boolean {
  if (!name.startsWith(prefix)) return false;
  const m = NAME.exec(name.slice(prefix.length));
  if (!m) return false;
  if (m[1] !== HOST) return Date.now() - mtimeMs() > FOREIGN_STALE_MS;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes the abandoned temp files (isAbandonedTemp) directly in a directory; returns how many. */
export function sweepAbandonedTemps(dir: string, prefix: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    if (!isAbandonedTemp(name, prefix, () => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()))
      continue;
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
