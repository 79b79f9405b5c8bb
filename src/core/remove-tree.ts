import { rmSync } from 'node:fs';

/**
 * Removes a directory and everything in it, one entry at a time. Not fs.promises.rm: its recursive
 * walk unlinks every entry of a directory at once: removing the spool of a 100,000-entry archive
 * put 100,000 requests in flight, about 300 MB, after the put itself had run in bounded memory.
 */
export function removeTree(dir: string): Promise<void> {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error as Error);
  }
}
