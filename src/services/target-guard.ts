import { lstatSync, opendirSync, type Stats } from 'node:fs';
import { readdir, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import { inMemory, type FileBatches } from '../core/file-batches.js';
import { ConflictError, failedAt } from '../core/errors.js';
import { hashFile } from '../core/hash.js';
import { TARGET_TEMP_PREFIX } from '../core/temp-name.js';
import { forEachLimited } from '../transfer/concurrency.js';

/**
 * A get into a directory that already has files. Each file of the version there is left alone
 * when it already holds the version's bytes (and mode), replaced when it is as an earlier get left
 * it, and otherwise (edited, or never Strata's) refused unless `force`: one line names the first,
 * and nothing is written. With `mirror`, files the version does not have go too, by the same rule.
 */
export interface TargetInput {
  target: string;
  ref: string;
  datasetId: string;
  versionId: string;
  /** what the get selected: version paths (files or directories); [] for the whole version */
  paths: string[];
  files: FileBatches;
  /** the mode a placed file gets from its manifest mode (read-only ones for hardlink gets) */
  modeOf: (file: FileEntry) => number;
  force?: boolean;
  mirror?: boolean;
}

export interface TargetPlan {
  /** files to write */
  place: FileBatches;
  /** files already holding the version's bytes and mode: not rewritten */
  unchanged: number;
  /** with mirror: paths (relative to the target) the version does not have, to remove */
  extra: string[];
}

/** What an earlier get left at a path: the file as it placed it, and when the get ended. */
interface Left {
  file: FileEntry;
  placedAtMs: number;
}

const HASHES_IN_FLIGHT = 8;

async function planTarget(ctx: AppContext, input: TargetInput): Promise<TargetPlan> {
  const root = resolve(input.target);
  // No directory yet, or an empty one (or something the placer will report as in the way).
  // (The files are read as they are placed: an empty target is how a version of millions of files
  // is got in bounded memory. Into a target with files, what to place is decided first, in memory.)
  if (isEmptyDir(root)) return { place: input.files, unchanged: 0, extra: [] };
  const leftAt = earlierGets(ctx, root);
  const place: FileEntry[] = [];
  /** why each refused path is refused, by path */
  const refused = new Map<string, string>();
  let unchanged = 0;
  const decide = (file: FileEntry, st: Stats, content: Content): void => {
    if (content === 'theirs' && !input.force) {
      refused.set(file.path, `differs from ${input.ref} and from what strata last put there`);
    } else if (content === file.sha256 && (st.mode & 0o7777) === input.modeOf(file)) unchanged++;
    else place.push(file);
  };
  // Stat calls in a loop (each costs less than a promise); only files whose content is not known
  // from their stat are read, a few at a time.
  const toHash: [FileEntry, Stats][] = [];
  /** with mirror, the version's paths: what is not among them goes */
  const wanted = new Set<string>();
  for (const file of allOf(input.files)) {
    if (input.mirror) wanted.add(file.path);
    const st = statOf(`${root}/${file.path}`);
    if (!st || st.isDirectory())
      place.push(file); // absent; a directory: the placer says so
    else {
      const known = contentFromStat(st, leftAt(file.path));
      if (known) decide(file, st, known);
      else toHash.push([file, st]);
    }
  }
  await forEachLimited(toHash, HASHES_IN_FLIGHT, async ([file, st]) =>
    decide(file, st, await contentByHash(`${root}/${file.path}`, st, leftAt(file.path), file)),
  );
  const extra: string[] = [];
  if (input.mirror) {
    for (const path of await filesUnder(root, input.paths)) {
      if (wanted.has(path)) continue;
      const st = statOf(`${root}/${path}`);
      if (!st) continue;
      const left = leftAt(path);
      const content = contentFromStat(st, left) ?? (await contentByHash(`${root}/${path}`, st, left, undefined));
      if (content === 'theirs' && !input.force) refused.set(path, `is not in ${input.ref} and not as strata left it`);
      else extra.push(path);
    }
  }
  if (refused.size > 0) {
    const [first] = [...refused.keys()].sort();
    const more = refused.size > 1 ? ` (and ${refused.size - 1} more)` : '';
    const flags = input.mirror
      ? '--force replaces and removes such files'
      : '--force replaces such files; --mirror also removes files the version does not have';
    throw new ConflictError(
      `${root}/${first} ${refused.get(first!)}${more}; nothing was changed. ${flags}`,
      'ELOCALCHANGE',
    );
  }
  place.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { place: inMemory(place), unchanged, extra };
}

function* allOf(files: FileBatches): Generator<FileEntry> {
  for (const batch of files.batches()) yield* batch;
}

/**
 * A get into `input.target`: plans it (refusing local changes), has `write` place the files that
 * need it, removes what mirror found, and records the get.
 */
export async function getIntoTarget<T extends { files: number }>(
  ctx: AppContext,
  input: TargetInput,
  write: (files: FileBatches) => Promise<T>,
): Promise<T & { unchanged: number; removed: number }> {
  const plan = await planTarget(ctx, input);
  const written = await write(plan.place);
  await removeExtra(input.target, plan.extra);
  recordPlacement(ctx, input);
  return { ...written, unchanged: plan.unchanged, removed: plan.extra.length };
}

/** Removes the files mirror found, and the directories they leave empty (never the target). */
async function removeExtra(target: string, extra: readonly string[]): Promise<void> {
  const root = resolve(target);
  const dirs = new Set<string>();
  for (const path of extra) {
    await unlink(`${root}/${path}`).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw failedAt(error, root);
    });
    for (let d = dirname(path); d !== '.'; d = dirname(d)) dirs.add(d);
  }
  // deepest first, so a parent is tried after its children
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await rmdir(`${root}/${d}`).catch(() => undefined);
}

/** Remembers this get, once its last file is in place: what a later get may replace. */
function recordPlacement(ctx: AppContext, input: TargetInput): void {
  ctx.catalog.placements.add(resolve(input.target), {
    datasetId: input.datasetId,
    versionId: input.versionId,
    paths: input.paths.length === 0 ? null : input.paths,
    // every file's ctime is before this: a later change to one is after it
    placedAtMs: Date.now() + 1,
  });
}

/** What a file holds: a sha256, or 'theirs', content no get of ours left there. */
type Content = string;

/**
 * What a file holds, known from its stat alone: not a regular file is 'theirs'; a file as a get
 * left it (size, mtime, and no change since: its ctime) holds what was placed, unread.
 */
function contentFromStat(st: Stats, left: Left | undefined): Content | undefined {
  if (!st.isFile()) return 'theirs';
  if (!left) return undefined;
  const asLeft =
    st.size === left.file.size && Math.floor(st.mtimeMs) === left.file.mtimeMs && st.ctimeMs <= left.placedAtMs;
  return asLeft ? left.file.sha256 : undefined;
}

/** What a file holds, by reading it: the version's bytes, those a get left there, or 'theirs'. */
async function contentByHash(
  abs: string,
  st: Stats,
  left: Left | undefined,
  wanted: FileEntry | undefined,
): Promise<Content> {
  // of neither size: neither content, unread
  if (st.size !== left?.file.size && st.size !== wanted?.size) return 'theirs';
  const { sha256 } = await hashFile(abs).catch((error: unknown) => {
    throw failedAt(error, abs);
  });
  return sha256 === wanted?.sha256 || sha256 === left?.file.sha256 ? sha256 : 'theirs';
}

/**
 * For a path, the file the newest get that placed it left there. Placements are newest first;
 * each version's file list is read once, when first needed (a deleted version has none).
 */
function earlierGets(ctx: AppContext, root: string): (path: string) => Left | undefined {
  const placements = ctx.catalog.placements.of(root);
  const lists = new Map<number, Map<string, FileEntry>>();
  return (path) => {
    for (const [i, p] of placements.entries()) {
      if (p.paths && !p.paths.some((sel) => covers(sel, path))) continue;
      let files = lists.get(i);
      if (!files) {
        files = new Map(ctx.catalog.files.list(p.datasetId, p.versionId, '').map((f) => [f.path, f]));
        lists.set(i, files);
      }
      const file = files.get(path);
      if (file) return { file, placedAtMs: p.placedAtMs };
    }
    return undefined;
  };
}

const covers = (selected: string, path: string): boolean =>
  selected === '' || path === selected || path.startsWith(`${selected}/`);

function statOf(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw failedAt(error, abs);
  }
}

/** Whether the target is absent, empty, or not a directory: then nothing in it needs checking. */
function isEmptyDir(root: string): boolean {
  const st = statOf(root);
  if (!st?.isDirectory()) return true;
  const dir = opendirSync(root);
  try {
    return dir.readSync() === null;
  } finally {
    dir.closeSync();
  }
}

/** Files (and symlinks) under the selected paths of the target, relative to it; Strata's temps skipped. */
async function filesUnder(root: string, selected: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const sel of selected.length === 0 ? [''] : selected) {
    const base = sel === '' ? root : `${root}/${sel}`;
    const st = statOf(base);
    if (!st) continue;
    if (!st.isDirectory()) {
      found.push(sel);
      continue;
    }
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (e.isDirectory() || e.name.startsWith(TARGET_TEMP_PREFIX)) continue;
      found.push(relative(root, join(e.parentPath, e.name)));
    }
  }
  return found;
}
