import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { IntegrityError, StrataError, UsageError } from '../core/errors.js';
import { checkManifestPath } from '../core/paths-in-manifest.js';
import type { SourceFile } from './walk.js';
import { readZip } from './archive-zip.js';
import { DEFAULT_MAX_EXPANSION, ExpansionLimit } from './archive-limits.js';

export type ArchiveKind = 'tar' | 'tar.gz' | 'zip';

/** Recognizes an archive by its first bytes (never by its name): gzip, zip, or ustar at 257. */
export async function sniffArchive(file: string): Promise<ArchiveKind | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'tar.gz';
    if (bytes.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) return 'zip';
    // an empty zip is its end-of-central-directory record alone
    if (bytes.subarray(0, 4).equals(Buffer.from('PK\x05\x06', 'latin1'))) return 'zip';
    if (bytes.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await handle.close();
  }
}

export interface ExtractOptions {
  file: string;
  kind: ArchiveKind;
  /** an empty directory that receives the extracted bytes */
  into: string;
  /** manifest path prefix, '' for the root */
  target: string;
  /** names the archive in messages (a URL without credentials) */
  source: string;
  /** refuse an archive that unpacks to more than this many times its size (archive-limits.ts) */
  maxExpansion?: number;
  signal?: AbortSignal;
  warn(message: string): void;
}

/**
 * Unpacks the regular files of an archive into `into` and returns them sorted by path. Any entry
 * that could land outside the extraction root (absolute, "..", or a link pointing out) refuses
 * the whole archive: nothing is returned, and the caller removes what was written.
 */
export async function extractArchive(options: ExtractOptions): Promise<SourceFile[]> {
  await mkdir(options.into, { recursive: true });
  const { size } = await stat(options.file);
  const limit = new ExpansionLimit(size, options.maxExpansion ?? DEFAULT_MAX_EXPANSION, options.source);
  const collector = new Collector(options, limit);
  const visit: Visit = (entry, body) => collector.accept(entry, body);
  try {
    if (options.kind === 'zip') await readZip(options.file, visit);
    else await readTar(options.file, visit);
  } catch (error) {
    throw archiveError(error, options.source);
  }
  return collector.result();
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface ArchiveEntry {
  /** the name as the archive spells it */
  name: string;
  kind: EntryKind;
  /** for "other": what the archive calls the type */
  typeName?: string;
  linkpath?: string;
  mode: number;
  mtimeMs: number;
}

export type Visit = (entry: ArchiveEntry, body: AsyncIterable<Buffer> | undefined) => Promise<void>;

/** Checks entries as they come, writes regular files to numbered spool files, keeps the later of two same paths. */
class Collector {
  private readonly files = new Map<string, SourceFile>();
  /** every directory implied by a stored file (may hold stale entries; only used to find conflicts) */
  private readonly dirs = new Set<string>();
  private next = 0;

  constructor(
    private readonly options: ExtractOptions,
    private readonly limit: ExpansionLimit,
  ) {}

  async accept(entry: ArchiveEntry, body: AsyncIterable<Buffer> | undefined): Promise<void> {
    this.options.signal?.throwIfAborted();
    const path = this.safePath(entry);
    if (entry.kind === 'hardlink') {
      // A tar hard link is a second name for a file already in the archive (GNU tar writes them
      // for identical files): keep it as that file's content under this path.
      this.checkLink(entry, path);
      const target = this.files.get(this.fullPath(posix.normalize(entry.linkpath!.replace(/^(\.\/)+/, ''))));
      if (target) await this.store({ ...target, path: this.fullPath(path), mode: entry.mode & 0o777 });
      else
        this.options.warn(
          `skipping hard link ${path} -> ${entry.linkpath ?? ''}: its target is not a file of the archive`,
        );
    } else if (entry.kind === 'symlink') {
      this.checkLink(entry, path);
      this.options.warn(
        `skipping symlink ${path} -> ${entry.linkpath ?? ''} in ${this.options.source}: Strata stores regular files only`,
      );
    } else if (entry.kind === 'other') {
      this.options.warn(`skipping ${path} in ${this.options.source}: ${entry.typeName ?? 'not a regular file'}`);
    } else if (entry.kind === 'file' && body) {
      const absPath = posix.join(this.options.into, String(this.next++));
      const size = await writeBody(absPath, body, this.limit);
      await this.store({
        absPath,
        path: this.fullPath(path),
        size,
        mode: entry.mode & 0o777,
        mtimeMs: Math.floor(entry.mtimeMs),
      });
    }
  }

  private fullPath(path: string): string {
    return this.options.target === '' ? path : `${this.options.target}/${path}`;
  }

  result(): SourceFile[] {
    const files = [...this.files.values()];
    if (files.length === 0) this.options.warn(`${this.options.source} holds no regular files`);
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The entry's path in manifest form ('' for the root directory), or an EUNSAFEPATH refusal. */
  private safePath(entry: ArchiveEntry): string {
    const name = entry.name;
    let problem: string | undefined;
    if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) problem = 'absolute path';
    else if (name.split('/').includes('..')) problem = '".." segment';
    let path = name.replace(/^(\.\/)+/, '');
    if (entry.kind === 'directory') {
      path = path.replace(/\/+$/, '');
      if (!problem && (path === '' || path === '.')) return '';
    }
    problem ??= checkManifestPath(path);
    if (!problem && this.options.target !== '') problem = checkManifestPath(`${this.options.target}/${path}`);
    if (problem) throw this.refuse(`entry ${JSON.stringify(name)} is unsafe (${problem})`);
    return path;
  }

  /** Zip-slip: a link must be relative and stay inside the archive root. */
  private checkLink(entry: ArchiveEntry, path: string): void {
    const link = entry.linkpath ?? '';
    const absolute = link.startsWith('/') || /^[A-Za-z]:/.test(link);
    // a symlink resolves from its own directory; a tar hard link names a path from the archive root
    const base = entry.kind === 'symlink' ? posix.dirname(path) : '.';
    const resolved = posix.normalize(posix.join(base, link));
    if (absolute || link === '' || resolved === '..' || resolved.startsWith('../')) {
      throw this.refuse(`link ${JSON.stringify(entry.name)} points outside the archive (${JSON.stringify(link)})`);
    }
  }

  private refuse(why: string): IntegrityError {
    return new IntegrityError(`refusing to import ${this.options.source}: ${why}; nothing was stored`, 'EUNSAFEPATH');
  }

  /** The later of two entries with one path wins, as with tar; a file and a directory of one name too. */
  private async store(file: SourceFile): Promise<void> {
    const drop = async (path: string, why: string): Promise<void> => {
      const old = this.files.get(path);
      if (!old) return;
      this.files.delete(path);
      await rm(old.absPath, { force: true });
      this.options.warn(`${path} in ${this.options.source} ${why}`);
    };
    await drop(file.path, 'appears more than once; the later entry wins');
    const segments = file.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      await drop(dir, `is replaced by the directory of a later entry (${file.path})`);
      this.dirs.add(dir);
    }
    if (this.dirs.delete(file.path)) {
      for (const path of [...this.files.keys()]) {
        if (path.startsWith(`${file.path}/`)) await drop(path, `is replaced by a later file ${file.path}`);
      }
    }
    this.files.set(file.path, file);
  }
}

async function writeBody(absPath: string, body: AsyncIterable<Buffer>, limit: ExpansionLimit): Promise<number> {
  // 0o600 on disk whatever the archive says (its mode goes into the manifest): put must read it
  const handle = await open(absPath, 'wx', 0o600);
  let size = 0;
  try {
    for await (const chunk of body) {
      limit.add(chunk.length);
      await handle.write(chunk);
      size += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return size;
}

// ---- tar (plain or gzip: node-tar's Parser recognizes gzip itself) ----

const TAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const TAR_DIR_TYPES = new Set(['Directory', 'GNUDumpDir']);

function tarKind(type: string): EntryKind {
  if (TAR_FILE_TYPES.has(type)) return 'file';
  if (TAR_DIR_TYPES.has(type)) return 'directory';
  if (type === 'SymbolicLink') return 'symlink';
  if (type === 'Link') return 'hardlink';
  return 'other';
}

function tarEntry(entry: ReadEntry): ArchiveEntry {
  const kind = tarKind(entry.type);
  return {
    name: entry.path,
    kind,
    typeName: kind === 'other' ? `${entry.type} entries are not stored` : undefined,
    linkpath: entry.linkpath,
    mode: entry.mode ?? 0o644,
    mtimeMs: entry.mtime?.getTime() ?? Date.now(),
  };
}

/** Entries one at a time, in archive order; the parser waits while an entry's body is being written. */
function readTar(file: string, visit: Visit): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const source = createReadStream(file);
    const stop = new AbortController();
    let chain = Promise.resolve();
    const fail = (error: unknown): void => {
      if (stop.signal.aborted) return;
      stop.abort(error);
      source.unpipe();
      source.destroy();
      // let the entry in hand settle, so nothing is being written when the caller cleans up
      void chain.finally(() => reject(error));
    };
    const enqueue = (entry: ReadEntry, withBody: boolean): void => {
      chain = chain
        .then(async () => {
          if (stop.signal.aborted) return;
          await visit(tarEntry(entry), withBody ? untilStopped(entry, stop.signal) : undefined);
        })
        .catch(fail)
        .finally(() => entry.resume()); // whatever was not read is skipped
    };
    // No ratio check of node-tar's own (1000 by default, over the bytes read so far): the
    // expansion limit (archive-limits.ts) is one rule for tar and zip alike.
    const parser = new Parser({
      strict: true,
      maxDecompressionRatio: Number.POSITIVE_INFINITY,
      onReadEntry: (entry) => enqueue(entry, true),
    });
    // types node-tar does not know (sparse files, ACLs…): still checked, then skipped
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      if (!entry.meta) enqueue(entry, false);
    });
    parser.on('error', fail);
    parser.on('end', () => void chain.then(() => !stop.signal.aborted && resolve()));
    source.on('error', fail);
    source.pipe(parser);
  });
}

/** An entry's chunks until it ends or `stop` fires: a body cut short by a damaged archive never ends. */
async function* untilStopped(entry: ReadEntry, stop: AbortSignal): AsyncGenerator<Buffer> {
  stop.throwIfAborted();
  let onAbort: () => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(stop.reason as Error);
    stop.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  const chunks = entry[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), stopped]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // One listener per entry, for the entry's life only: an archive of 100,000 files must not
    // leave 100,000 of them on the signal.
    stop.removeEventListener('abort', onAbort);
  }
}

/** What the archive readers throw about the archive itself becomes EARCHIVE; our own and system errors pass. */
function archiveError(error: unknown, source: string): unknown {
  if (error instanceof StrataError || !(error instanceof Error)) return error;
  if (error.name === 'AbortError' || 'syscall' in error) return error;
  if ('tarCode' in error && /Unrecognized archive format/.test(error.message)) {
    return new UsageError(
      `cannot extract ${source}: it is gzip-compressed but holds no tar archive; drop --extract to store it as one file`,
      'ENOTARCHIVE',
    );
  }
  return new IntegrityError(`cannot extract ${source}: the archive is damaged (${error.message})`, 'EARCHIVE');
}
