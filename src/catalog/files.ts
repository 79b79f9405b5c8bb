import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { FileEntry } from '../core/model.js';
import { sealOf, type Seal, type SealRow } from './seal.js';
import { parentFolders } from '../core/paths-in-manifest.js';

const COLUMNS = 'path, size, sha256, mode, mtime_ms';
type FileRow = [path: string, size: number, sha256: string, mode: number, mtimeMs: number];
const toFile = ([path, size, sha256, mode, mtimeMs]: FileRow): FileEntry => ({ path, size, sha256, mode, mtimeMs });

/** Escapes LIKE wildcards so a path prefix matches literally. */
const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The condition for a version's files under a directory ("" = all): a file, or what is below it. */
function within(datasetId: string, versionId: string, under: string): { sql: string; args: unknown[] } {
  const sql = 'dataset_id = ? AND version_id = ?';
  if (under === '') return { sql, args: [datasetId, versionId] };
  return {
    sql: `${sql} AND (path = ? OR path LIKE ? ESCAPE '\\')`,
    args: [datasetId, versionId, under, likePrefix(`${under}/`)],
  };
}

/** Paths between `from` and `to` (either open-ended when undefined), each bound in or out. */
export interface PathRange {
  from?: string;
  fromInclusive?: boolean;
  to?: string;
  toInclusive?: boolean;
}

function rangeCondition(datasetId: string, versionId: string, r: PathRange): { sql: string; args: unknown[] } {
  let sql = 'dataset_id = ? AND version_id = ?';
  const args: unknown[] = [datasetId, versionId];
  if (r.from !== undefined) {
    sql += r.fromInclusive ? ' AND path >= ?' : ' AND path > ?';
    args.push(r.from);
  }
  if (r.to !== undefined) {
    sql += r.toInclusive ? ' AND path <= ?' : ' AND path < ?';
    args.push(r.to);
  }
  return { sql, args };
}

/** The files of versions, and which blobs each provider is known to hold. */
export class FileQueries {
  constructor(private readonly db: Db) {}

  /** Files of a version, ordered by path; `under` limits them to a directory ("" = all). */
  list(datasetId: string, versionId: string, under = ''): FileEntry[] {
    const { stmt, args } = this.select(datasetId, versionId, under);
    return (stmt.all(...args) as FileRow[]).map(toFile);
  }

  *iterate(datasetId: string, versionId: string, under = ''): Generator<FileEntry> {
    const { stmt, args } = this.select(datasetId, versionId, under);
    for (const row of stmt.iterate(...args) as Iterable<FileRow>) yield toFile(row);
  }

  /** The length of the longest path of a version under a directory ("" = all), 0 when none. */
  longestPath(datasetId: string, versionId: string, under = ''): number {
    const { sql, args } = within(datasetId, versionId, under);
    return this.db
      .prepare(`SELECT coalesce(max(length(path)), 0) FROM files WHERE ${sql}`)
      .pluck()
      .get(...args) as number;
  }

  get(datasetId: string, versionId: string, path: string): FileEntry | undefined {
    const row = this.db
      .prepare(`SELECT ${COLUMNS} FROM files WHERE dataset_id = ? AND version_id = ? AND path = ?`)
      .raw()
      .get(datasetId, versionId, path) as FileRow | undefined;
    return row && toFile(row);
  }

  /**
   * Rows come as arrays: building each row's object twice (better-sqlite3's, then ours) cost
   * ~45 ms for a 10,000-file version, most of a warm get's catalog time.
   */
  private select(datasetId: string, versionId: string, under: string): { stmt: Statement; args: unknown[] } {
    const { sql, args } = within(datasetId, versionId, under);
    return { stmt: this.db.prepare(`SELECT ${COLUMNS} FROM files WHERE ${sql} ORDER BY path`).raw(), args };
  }

  /**
   * Up to `limit` files of a version between two paths, in path order (or reversed): what a page
   * of a folder is read from, by seeks on the primary key, however many files the version holds.
   */
  range(datasetId: string, versionId: string, r: PathRange & { descending?: boolean; limit: number }): FileEntry[] {
    const { sql, args } = rangeCondition(datasetId, versionId, r);
    return (
      this.db
        .prepare(`SELECT ${COLUMNS} FROM files WHERE ${sql} ORDER BY path ${r.descending ? 'DESC' : 'ASC'} LIMIT ?`)
        .raw()
        .all(...args, r.limit) as FileRow[]
    ).map(toFile);
  }

  /**
   * A version's files in path order, `size` at a time, each page a query of its own: unlike
   * `iterate`, no statement stays open between pages, so the catalog may be written while a
   * caller works through them (an open iterator makes better-sqlite3 refuse every write).
   */
  *pages(datasetId: string, versionId: string, size: number): Generator<FileEntry[]> {
    for (let after: string | undefined; ;) {
      const page = this.range(datasetId, versionId, { from: after, limit: size });
      if (page.length > 0) yield page;
      if (page.length < size) return;
      after = page.at(-1)!.path;
    }
  }

  /** How many files, and how many bytes, lie between two paths. */
  rangeSummary(datasetId: string, versionId: string, r: PathRange): { fileCount: number; size: number } {
    const { sql, args } = rangeCondition(datasetId, versionId, r);
    const [n, size] = this.db
      .prepare(`SELECT count(*), coalesce(sum(size), 0) FROM files WHERE ${sql}`)
      .raw()
      .get(...args) as [number, number];
    return { fileCount: n, size };
  }

  /** A file of a version that cannot stand beside a file at `path`: one where a folder of it is, or one below it. */
  clashOf(datasetId: string, versionId: string, path: string): string | undefined {
    const folders = parentFolders(path);
    const found =
      folders.length === 0
        ? undefined
        : (this.db
            .prepare(
              `SELECT path FROM files WHERE dataset_id = ? AND version_id = ? AND path IN (${folders.map(() => '?').join(', ')}) LIMIT 1`,
            )
            .pluck()
            .get(datasetId, versionId, ...folders) as string | undefined);
    return found ?? this.range(datasetId, versionId, { from: `${path}/`, to: `${path}0`, limit: 1 })[0]?.path;
  }

  /**
   * A file of a version that is also a folder of another ("x" beside "x/y"), which no filesystem
   * can hold: one seek on the primary key per file, no list in memory.
   */
  firstClash(datasetId: string, versionId: string): { file: string; below: string } | undefined {
    const file = this.db
      .prepare(
        `SELECT a.path FROM files a WHERE a.dataset_id = ? AND a.version_id = ? AND EXISTS (SELECT 1 FROM files b
           WHERE b.dataset_id = a.dataset_id AND b.version_id = a.version_id AND b.path > a.path || '/' AND b.path < a.path || '0')
         LIMIT 1`,
      )
      .pluck()
      .get(datasetId, versionId) as string | undefined;
    if (file === undefined) return undefined;
    return { file, below: this.range(datasetId, versionId, { from: `${file}/`, to: `${file}0`, limit: 1 })[0]!.path };
  }

  summary(datasetId: string, versionId: string): { fileCount: number; size: number } {
    const row = this.db
      .prepare(
        'SELECT count(*) AS n, coalesce(sum(size), 0) AS size FROM files WHERE dataset_id = ? AND version_id = ?',
      )
      .get(datasetId, versionId) as { n: number; size: number };
    return { fileCount: row.n, size: row.size };
  }

  /** Inserts or replaces files, in one transaction. */
  upsert(datasetId: string, versionId: string, files: readonly FileEntry[]): void {
    const stmt = this.db.prepare(
      `INSERT INTO files (dataset_id, version_id, path, size, sha256, mode, mtime_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (dataset_id, version_id, path) DO UPDATE SET
         size = excluded.size, sha256 = excluded.sha256, mode = excluded.mode, mtime_ms = excluded.mtime_ms`,
    );
    this.db.transaction(() => {
      for (const f of files) stmt.run(datasetId, versionId, f.path, f.size, f.sha256, f.mode, f.mtimeMs);
    })();
  }

  /** The seal of a version's rows as they are now (see seal.ts): streamed, whatever their number. */
  seal(datasetId: string, versionId: string): Seal {
    const { stmt, args } = this.select(datasetId, versionId, '');
    return sealOf(stmt.iterate(...args) as Iterable<SealRow>);
  }

  /** Deletes a file or everything under a directory ("" = all); returns how many went. */
  deleteUnder(datasetId: string, versionId: string, under: string): number {
    const { sql, args } = within(datasetId, versionId, under);
    return this.db.prepare(`DELETE FROM files WHERE ${sql}`).run(...args).changes;
  }

  copyVersion(datasetId: string, fromVersionId: string, toVersionId: string): void {
    this.db
      .prepare(
        `INSERT INTO files (dataset_id, version_id, path, size, sha256, mode, mtime_ms)
         SELECT dataset_id, ?, path, size, sha256, mode, mtime_ms FROM files WHERE dataset_id = ? AND version_id = ?`,
      )
      .run(toVersionId, datasetId, fromVersionId);
  }

  /** Asked once per file of a put: prepared once. */
  private hasBlobStmt?: Statement;

  providerHasBlob(providerId: string, sha256: string): boolean {
    this.hasBlobStmt ??= this.db.prepare('SELECT 1 FROM provider_blobs WHERE provider_id = ? AND sha256 = ?').pluck();
    return this.hasBlobStmt.get(providerId, sha256) !== undefined;
  }

  /** Records blobs a provider is known to hold, in one transaction. */
  recordProviderBlobs(providerId: string, blobs: readonly { sha256: string; size: number }[]): void {
    const stmt = this.db.prepare('INSERT OR IGNORE INTO provider_blobs (provider_id, sha256, size) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const b of blobs) stmt.run(providerId, b.sha256, b.size);
    })();
  }

  private readonly storedHashStmts = new Map<number, Statement>();

  /**
   * For local files (absolute paths), the sha256 each had when it was last hashed and the stat
   * stamp it had then, where the provider is known to hold that content: one query for many
   * files (a put of a tree that changed a little asks for every file).
   */
  storedHashes(providerId: string, paths: readonly string[]): Map<string, { stamp: string; sha256: string }> {
    const found = new Map<string, { stamp: string; sha256: string }>();
    if (paths.length === 0) return found;
    let stmt = this.storedHashStmts.get(paths.length);
    if (!stmt) {
      stmt = this.db
        .prepare(
          `SELECT h.path, h.stamp, h.sha256 FROM hash_cache h
           JOIN provider_blobs b ON b.provider_id = ? AND b.sha256 = h.sha256
           WHERE h.path IN (${paths.map(() => '?').join(', ')})`,
        )
        .raw();
      this.storedHashStmts.set(paths.length, stmt);
    }
    for (const [path, stamp, sha256] of stmt.all(providerId, ...paths) as [string, string, string][]) {
      found.set(path, { stamp, sha256 });
    }
    return found;
  }

  rememberHashes(rows: readonly { path: string; stamp: string; sha256: string }[]): void {
    const stmt = this.db.prepare(
      'INSERT INTO hash_cache (path, stamp, sha256) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET stamp = excluded.stamp, sha256 = excluded.sha256',
    );
    this.db.transaction(() => {
      for (const r of rows) stmt.run(r.path, r.stamp, r.sha256);
    })();
  }

  providerBlobCount(providerId: string): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM provider_blobs WHERE provider_id = ?').get(providerId) as { n: number }
    ).n;
  }

  /** Forgets what the catalog knew a provider holds: all of it (packs too), or just these blobs. */
  forgetProviderBlobs(providerId: string, shas?: readonly string[]): void {
    if (shas === undefined) {
      this.db.transaction(() => {
        this.db.prepare('DELETE FROM provider_blobs WHERE provider_id = ?').run(providerId);
        this.db.prepare('DELETE FROM packs WHERE provider_id = ?').run(providerId); // their tables with them
      })();
      return;
    }
    const stmt = this.db.prepare('DELETE FROM provider_blobs WHERE provider_id = ? AND sha256 = ?');
    this.db.transaction(() => {
      for (const sha of shas) stmt.run(providerId, sha);
    })();
  }
}
