import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tempDir } from './cli.js';

/**
 * Fresh temporary directories for one test file: call it at the top level of the file and use the
 * returned function in each test; every directory it made is removed when the file is done (not
 * after each test: tests of a file may run concurrently). They are made in `base`, by default the
 * system's temporary directory.
 */
export function tempDirs(prefix?: string, base?: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = tempDir(prefix, base);
    made.push(dir);
    return dir;
  };
}
