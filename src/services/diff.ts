import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import { resolveRef } from './resolve.js';
import { sealedFiles } from './sealed.js';

export interface DiffResult {
  from: string;
  to: string;
  added: string[];
  removed: string[];
  /** same path, other content or mode */
  changed: string[];
  /** same content under a new path */
  renamed: { from: string; to: string }[];
}

/**
 * What changed between two versions: added, removed, changed and renamed paths. Both file lists
 * are merged as the catalog streams them in path order, so memory grows with the difference, not
 * with the versions (a million-file version is never held whole).
 */
export function diffVersions(ctx: AppContext, input: { id: string; to: string }): DiffResult {
  const a = resolveRef(ctx, input.id);
  const b = resolveRef(ctx, input.to);
  const { removed, added, changed } = merge(sealedFiles(ctx, a.version), sealedFiles(ctx, b.version));

  // A removed path and an added path holding the same content are one rename.
  const removedByContent = new Map<string, string[]>();
  for (const f of removed) removedByContent.set(f.sha256, [...(removedByContent.get(f.sha256) ?? []), f.path]);
  const renamed: DiffResult['renamed'] = [];
  const renamedFrom = new Set<string>();
  const addedPaths = added.flatMap((f) => {
    const source = removedByContent.get(f.sha256)?.shift();
    if (source === undefined) return [f.path];
    renamed.push({ from: source, to: f.path });
    renamedFrom.add(source);
    return [];
  });
  return {
    from: `${a.dataset.id}:${a.version.id}`,
    to: `${b.dataset.id}:${b.version.id}`,
    added: addedPaths,
    removed: removed.map((f) => f.path).filter((path) => !renamedFrom.has(path)),
    changed,
    renamed,
  };
}

/**
 * Walks two path-ordered file lists side by side, to the end of both (sealedFiles checks a version
 * once its last row was read). Both are closed whatever happens: an open catalog iterator keeps
 * the connection busy for the error handling that follows.
 */
function merge(
  before: Generator<FileEntry>,
  after: Generator<FileEntry>,
): { removed: FileEntry[]; added: FileEntry[]; changed: string[] } {
  const removed: FileEntry[] = [];
  const added: FileEntry[] = [];
  const changed: string[] = [];
  try {
    let old = before.next();
    let now = after.next();
    while (!old.done || !now.done) {
      const order = old.done ? 1 : now.done ? -1 : byCodePoint(old.value.path, now.value.path);
      if (order < 0) {
        removed.push(old.value);
        old = before.next();
      } else if (order > 0) {
        added.push(now.value);
        now = after.next();
      } else {
        if (now.value!.sha256 !== old.value!.sha256 || now.value!.mode !== old.value!.mode)
          changed.push(now.value!.path);
        old = before.next();
        now = after.next();
      }
    }
  } finally {
    before.return(undefined);
    after.return(undefined);
  }
  return { removed, added, changed };
}

/**
 * The catalog's path order (SQLite's BINARY collation: UTF-8 bytes, i.e. code points). JavaScript's
 * `<` orders UTF-16 units instead, which puts a name above U+FFFF (a surrogate pair) before one in
 * U+E000–U+FFFF: a merge with it would see both as removed and added.
 */
export function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
