import { existsSync, lstatSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join, relative } from 'node:path';

export interface FileStamp {
  path: string;
  size: number;
  mtimeNs: bigint;
  ino: bigint;
}

/**
 * Every regular file (and symlink) under root with size, mtime (ns) and inode, sorted by path:
 * two equal snapshots mean nothing was written, replaced or removed. A missing root is empty.
 */
export function statFiles(root: string): FileStamp[] {
  const out: FileStamp[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const s = lstatSync(path, { bigint: true });
        out.push({ path: relative(root, path), size: Number(s.size), mtimeNs: s.mtimeNs, ino: s.ino });
      }
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Every row of every table of a catalog, read directly from SQLite (read-only), so that a test can
 * say "the catalog did not change" without trusting the CLI that is under test.
 */
export function catalogRows(catalogPath: string): Record<string, unknown[]> {
  const db = new Database(catalogPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all() as string[];
    return Object.fromEntries(
      tables.map((table) => {
        const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
        const order = columns.map((c) => `"${c}"`).join(', ');
        return [table, db.prepare(`SELECT * FROM "${table}" ORDER BY ${order}`).all()];
      }),
    );
  } finally {
    db.close();
  }
}
