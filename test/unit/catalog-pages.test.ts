import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/db.js';

const dir = mkdtempSync(join(tmpdir(), 'catalog-pages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a version's files read a page at a time", () => {
  it('come in path order, and leave the catalog writable between pages', () => {
    const path = join(dir, 'catalog.db');
    Catalog.open(path).close();
    // Rows alone (no dataset or version rows: what is tested is the reading).
    const raw = new Database(path);
    raw.pragma('foreign_keys = OFF');
    const insert = raw.prepare(
      "INSERT INTO files (dataset_id, version_id, path, size, sha256, mode, mtime_ms) VALUES ('d', 'v', ?, 1, ?, 420, 0)",
    );
    const paths = Array.from({ length: 7 }, (_, i) => `f${6 - i}`);
    for (const p of paths) insert.run(p, 'a'.repeat(64));
    raw.close();

    const catalog = Catalog.open(path);
    try {
      const pages: string[][] = [];
      for (const page of catalog.files.pages('d', 'v', 3)) {
        pages.push(page.map((f) => f.path));
        // What a get may do while it places a page: learn pack tables, hashes (an open
        // iterator would make better-sqlite3 refuse this write).
        catalog.files.rememberHashes([{ path: `/src/${pages.length}`, stamp: 's', sha256: 'b'.repeat(64) }]);
      }
      expect(pages).toEqual([['f0', 'f1', 'f2'], ['f3', 'f4', 'f5'], ['f6']]);
    } finally {
      catalog.close();
    }
  });
});
