import { chmodSync, closeSync, existsSync, openSync, mkdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from './migrations.js';
import { ProviderQueries } from './providers.js';
import type { Provider } from '../core/model.js';
import { DatasetQueries } from './datasets.js';
import { FileQueries } from './files.js';
import { PackQueries } from './packs.js';
import { RunQueries } from './runs.js';
import { ClaimQueries } from './claims.js';
import { PlacementQueries } from './placements.js';
import { BUSY_TIMEOUT_MS, catalogDamaged } from './errors.js';

export type Db = Database.Database;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0');

/** The local index of providers, datasets, versions, files and tags. The only SQL in the tree. */
export class Catalog {
  readonly providers: ProviderQueries;
  readonly datasets: DatasetQueries;
  readonly files: FileQueries;
  readonly packs: PackQueries;
  readonly runs: RunQueries;
  readonly claims: ClaimQueries;
  readonly placements: PlacementQueries;

  private constructor(private readonly db: Db) {
    this.providers = new ProviderQueries(db);
    this.datasets = new DatasetQueries(db);
    this.files = new FileQueries(db);
    this.packs = new PackQueries(db);
    this.runs = new RunQueries(db);
    this.claims = new ClaimQueries(db);
    this.placements = new PlacementQueries(db);
  }

  /**
   * Opens the catalog, creating it when there is none. A new catalog is made whole beside its
   * place and renamed there, so a catalog.db that exists and is not a SQLite database (empty,
   * truncated to nothing, overwritten) was damaged, and is said to be rather than silently
   * replaced by an empty one.
   */
  static open(path: string): Catalog {
    if (!existsSync(path)) create(path);
    else checkHeader(path);
    const db = new Database(path);
    try {
      configure(db);
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new Catalog(db);
  }

  /**
   * The storage providers a damaged catalog still has readable (with their credentials), read
   * without writing a byte into it; [] when they cannot be read.
   */
  static salvageProviders(path: string): Provider[] {
    let db: Db | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      return new ProviderQueries(db).list();
    } catch {
      return [];
    } finally {
      db?.close();
    }
  }

  /** Runs fn in one transaction (IMMEDIATE, so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** SQLite's own check of every page and index (`PRAGMA integrity_check`): "ok", or what is wrong. */
  integrityCheck(): string[] {
    return (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  }

  close(): void {
    this.db.close();
  }
}

function configure(db: Db): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
}

/** A fresh catalog, 0600 (it may hold credentials), written whole and then renamed into place. */
function create(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.new-${process.pid}`;
  rmSync(temp, { force: true });
  closeSync(openSync(temp, 'w', 0o600));
  chmodSync(temp, 0o600);
  const db = new Database(temp);
  try {
    db.pragma('journal_mode = DELETE');
    migrate(db);
  } finally {
    db.close();
  }
  // Another process may have made it meanwhile: theirs stands.
  if (existsSync(path)) rmSync(temp, { force: true });
  else renameSync(temp, path);
}

function checkHeader(path: string): void {
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (length === header.length && header.equals(SQLITE_HEADER)) return;
  // A catalog whose first transactions are still only in its write-ahead log (its process was
  // killed before the first checkpoint) is whole: SQLite replays the log.
  if (length === 0 && (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) return;
  throw catalogDamaged(path, length === 0 ? 'the file is empty' : 'it is not a SQLite database');
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= migrations.length) return;
  db.transaction(() => {
    const again = db.pragma('user_version', { simple: true }) as number;
    for (let i = again; i < migrations.length; i++) {
      const step = migrations[i]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${i + 1}`);
    }
  }).immediate();
}
