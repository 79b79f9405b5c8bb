import { futimesSync } from 'node:fs';
import { utimes } from 'node:fs/promises';

/**
 * Sets a file's atime and mtime to a whole millisecond so that reading it back
 * (Math.floor(stat.mtimeMs)) gives exactly that millisecond. utimes takes float seconds and the
 * conversion to nanoseconds truncates: ms/1000 often lands a nanosecond short (…036999999 ns) and
 * reads back one millisecond early. Aiming at the middle of the millisecond cannot fall out of it.
 */
export async function setMtimeMs(path: string, mtimeMs: number): Promise<void> {
  const seconds = utimesSeconds(mtimeMs);
  await utimes(path, seconds, seconds);
}

/** setMtimeMs on an open file. */
export function setMtimeMsSync(fd: number, mtimeMs: number): void {
  const seconds = utimesSeconds(mtimeMs);
  futimesSync(fd, seconds, seconds);
}

const utimesSeconds = (mtimeMs: number): number => (Math.floor(mtimeMs) + 0.5) / 1000;
