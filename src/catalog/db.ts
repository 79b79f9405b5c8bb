import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from './migrations.js';
import { ProviderQueries } from './providers.js';
import { DatasetQueries } from './datasets.js';
import { FileQueries } from './files.js';
import { RunQueries } from './runs.js';

export type Db = Database.Database;

/** The local index of providers, datasets, versions, files and tags. The only SQL in the tree. */
export class Catalog {
  readonly providers: ProviderQueries;
  readonly datasets: DatasetQueries;
  readonly files: FileQueries;
  readonly runs: RunQueries;

  private constructor(private readonly db: Db) {
    this.providers = new ProviderQueries(db);
    this.datasets = new DatasetQueries(db);
    this.files = new FileQueries(db);
    this.runs = new RunQueries(db);
  }

  static open(path: string): Catalog {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create the file 0600 before SQLite does: it may hold credentials.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return new Catalog(db);
  }

  /** Runs fn in one transaction (IMMEDIATE, so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= migrations.length) return;
  db.transaction(() => {
    const again = db.pragma('user_version', { simple: true }) as number;
    for (let i = again; i < migrations.length; i++) {
      db.exec(migrations[i]!);
      db.pragma(`user_version = ${i + 1}`);
    }
  }).immediate();
}
