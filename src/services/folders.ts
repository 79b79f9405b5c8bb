import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import type { PathRange } from '../catalog/files.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { normalizeVersionPath } from '../core/paths-in-manifest.js';
import { resolveRef } from './resolve.js';
import { assertFileCount } from './sealed.js';

export interface FolderEntry {
  /** the name in its folder; a page cursor is this name, with a trailing "/" for a folder */
  name: string;
  path: string;
  type: 'file' | 'dir';
  size: number;
  /** files below a folder */
  fileCount?: number;
  mode?: number;
  mtime?: string;
  sha256?: string;
}

export interface FolderPage {
  ref: string;
  /** the folder, "" for the root */
  path: string;
  /** files anywhere below the folder, and their bytes */
  fileCount: number;
  size: number;
  entries: FolderEntry[];
  /** the cursor of the page before (pass as `before`), null on the first page */
  before: string | null;
  /** the cursor of the page after (pass as `after`), null on the last page */
  after: string | null;
}

export interface FolderInput {
  id: string;
  path?: string;
  /** the page after this cursor; or `before` it; or, with `last`, the folder's last page */
  after?: string;
  before?: string;
  last?: boolean;
  limit?: number;
}

export const FOLDER_PAGE_MAX = 1000;

/**
 * One page of a folder of a version: its files and its subfolders (each with the files and bytes
 * below it), in path order. Pages are keyset cursors walked by seeks on the catalog's primary key
 * (a subfolder is skipped over in one seek), so the first and the last page of a flat folder of a
 * million files cost the same few milliseconds, and nothing reads the whole folder but the one
 * count and sum of what lies below it.
 */
export function folderPage(ctx: AppContext, input: FolderInput): FolderPage {
  const { dataset, version } = resolveRef(ctx, input.id);
  const { files } = ctx.catalog;
  const whole = files.summary(dataset.id, version.id);
  assertFileCount(ctx, version, whole.fileCount);
  const limit = input.limit ?? 200;
  if (!Number.isInteger(limit) || limit < 1 || limit > FOLDER_PAGE_MAX)
    throw new UsageError(`a page holds 1 to ${FOLDER_PAGE_MAX} entries, not ${limit}`, 'EUSAGE');
  const under = normalizeVersionPath(input.path ?? '/');
  const folder = new Folder(under);
  const total = under === '' ? whole : files.rangeSummary(dataset.id, version.id, folder.bounds());
  if (total.fileCount === 0 && under !== '')
    throw new NotFoundError(`no folder "${under}" in ${dataset.id}:${version.id}`, 'ENOPATH');
  const read = (r: PathRange & { descending?: boolean; limit: number }): FileEntry[] =>
    files.range(dataset.id, version.id, r);
  const summarize = (r: PathRange): { fileCount: number; size: number } =>
    files.rangeSummary(dataset.id, version.id, r);

  const backwards = input.before !== undefined || (input.last === true && input.after === undefined);
  const cursor = input.before ?? input.after;
  if (cursor !== undefined) checkCursor(cursor);
  let entries: FolderEntry[];
  let before: string | null;
  let after: string | null;
  if (backwards) {
    const found = folder.walk(read, summarize, limit + 1, true, input.before);
    const more = found.length > limit;
    entries = found.slice(0, limit).reverse();
    before = more ? cursorOf(entries[0]!) : null;
    after = input.before !== undefined && entries.length > 0 ? cursorOf(entries.at(-1)!) : null;
  } else {
    const found = folder.walk(read, summarize, limit + 1, false, input.after);
    const more = found.length > limit;
    entries = found.slice(0, limit);
    before = input.after !== undefined && entries.length > 0 ? cursorOf(entries[0]!) : null;
    after = more ? cursorOf(entries.at(-1)!) : null;
  }
  return { ref: `${dataset.id}:${version.id}`, path: under, ...total, entries, before, after };
}

const cursorOf = (e: FolderEntry): string => (e.type === 'dir' ? `${e.name}/` : e.name);

function checkCursor(cursor: string): void {
  const name = cursor.endsWith('/') ? cursor.slice(0, -1) : cursor;
  if (name === '' || name.includes('/') || name.includes('\0'))
    throw new UsageError(`bad page cursor "${cursor}"`, 'EUSAGE');
}

/** A folder's key space: paths below "a/b" are those from "a/b/" to "a/b0" ("0" follows "/"). */
class Folder {
  private readonly prefix: string;

  constructor(readonly path: string) {
    this.prefix = path === '' ? '' : `${path}/`;
  }

  bounds(): PathRange {
    return this.path === '' ? {} : { from: this.prefix, fromInclusive: true, to: `${this.path}0` };
  }

  /** Up to `want` entries from a cursor (exclusive), forwards or backwards. */
  walk(
    read: (r: PathRange & { descending?: boolean; limit: number }) => FileEntry[],
    summarize: (r: PathRange) => { fileCount: number; size: number },
    want: number,
    descending: boolean,
    cursor: string | undefined,
  ): FolderEntry[] {
    const range: PathRange = this.bounds();
    if (cursor !== undefined) this.narrow(range, cursor, descending);
    const found: FolderEntry[] = [];
    for (;;) {
      const rows = read({ ...range, descending, limit: want - found.length });
      let skipped = false;
      for (const f of rows) {
        const rest = f.path.slice(this.prefix.length);
        const slash = rest.indexOf('/');
        if (slash < 0) {
          found.push({
            name: rest,
            path: f.path,
            type: 'file',
            size: f.size,
            mode: f.mode,
            mtime: new Date(f.mtimeMs).toISOString(),
            sha256: f.sha256,
          });
          continue;
        }
        const name = rest.slice(0, slash);
        const path = `${this.prefix}${name}`;
        found.push({
          name,
          path,
          type: 'dir',
          ...summarize({ from: `${path}/`, fromInclusive: true, to: `${path}0` }),
        });
        this.narrow(range, `${name}/`, descending);
        skipped = true;
        break;
      }
      if (!skipped || found.length >= want) return found;
    }
  }

  /** Moves a range's open end past the entry a cursor names. */
  private narrow(range: PathRange, cursor: string, descending: boolean): void {
    const isDir = cursor.endsWith('/');
    const path = `${this.prefix}${isDir ? cursor.slice(0, -1) : cursor}`;
    if (descending) {
      range.to = isDir ? `${path}/` : path;
      range.toInclusive = false;
    } else {
      range.from = isDir ? `${path}0` : path;
      range.fromInclusive = isDir;
    }
  }
}
