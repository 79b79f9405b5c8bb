// Shared by the resumability tests on the local provider and on S3.
import type { TestContext } from 'vitest';
import { createDataset, listFilesJson, openVersion, put, type FileJson } from './fixtures.js';
import { statFiles } from './snapshot.js';
import type { TreeEntry } from './tree.js';

/** The bytes of the source files whose content the provider did not hold at the kill: all a resumed put may send. */
export function bytesNotStored(src: string, tree: TreeEntry[], blobs: Map<string, unknown>): number {
  const sizes = new Map(statFiles(src).map((f) => [f.path, f.size]));
  const pending = new Map<string, number>();
  for (const f of tree) if (!blobs.has(f.sha256)) pending.set(f.sha256, sizes.get(f.path)!);
  return [...pending.values()].reduce((n, s) => n + s, 0);
}

/** A manifest as `files list -r --json` shows it, for comparing two versions. */
export const manifest = (files: FileJson[]): unknown[] =>
  files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, mode: f.mode, mtime: f.mtime }));

/**
 * The version an uninterrupted put of src makes on the local provider (a manifest names no
 * provider), in the given fresh STRATA_HOME: started at once and run beside the test, which waits
 * for it to settle whatever happens.
 */
export function uninterrupted(src: string, home: string, { onTestFinished }: TestContext): Promise<FileJson[]> {
  const reference = (async () => {
    const o = { home };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    await put(o, v.ref, `${src}/`);
    return listFilesJson(o, v.ref);
  })();
  // Handled at once (a failure still reaches the test that awaits it), and waited for at the end.
  const settled = reference.then(
    () => undefined,
    () => undefined,
  );
  onTestFinished(() => settled);
  return reference;
}
