import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import { resolveRef } from './resolve.js';
import { versionFiles } from './sealed.js';

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

/** What changed between two versions: added, removed, changed and renamed paths. */
export function diffVersions(ctx: AppContext, input: { id: string; to: string }): DiffResult {
  const a = resolveRef(ctx, input.id);
  const b = resolveRef(ctx, input.to);
  const before = byPath(versionFiles(ctx, a.version));
  const after = byPath(versionFiles(ctx, b.version));
  const result: DiffResult = {
    from: `${a.dataset.id}:${a.version.id}`,
    to: `${b.dataset.id}:${b.version.id}`,
    added: [],
    removed: [],
    changed: [],
    renamed: [],
  };
  for (const [path, old] of before) {
    const now = after.get(path);
    if (!now) result.removed.push(path);
    else if (now.sha256 !== old.sha256 || now.mode !== old.mode) result.changed.push(path);
  }
  for (const path of after.keys()) if (!before.has(path)) result.added.push(path);

  // A removed path and an added path holding the same content are one rename.
  const removedByContent = new Map<string, string[]>();
  for (const path of result.removed) {
    const sha = before.get(path)!.sha256;
    removedByContent.set(sha, [...(removedByContent.get(sha) ?? []), path]);
  }
  const renamedFrom = new Set<string>();
  result.added = result.added.filter((path) => {
    const candidates = removedByContent.get(after.get(path)!.sha256);
    const source = candidates?.shift();
    if (source === undefined) return true;
    result.renamed.push({ from: source, to: path });
    renamedFrom.add(source);
    return false;
  });
  result.removed = result.removed.filter((path) => !renamedFrom.has(path));
  return result;
}

function byPath(files: FileEntry[]): Map<string, FileEntry> {
  return new Map(files.map((f) => [f.path, f]));
}
