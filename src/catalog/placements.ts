import type { Db } from './db.js';

export interface Placement {
  datasetId: string;
  versionId: string;
  /** the version paths the get selected (files or directories); null: the whole version */
  paths: string[] | null;
  placedAtMs: number;
}

/** Placements kept per directory: older ones only matter for files no later get touched. */
const KEPT = 20;

/** What gets placed into which local directories (see migration 6). */
export class PlacementQueries {
  constructor(private readonly db: Db) {}

  /** The placements into a directory, newest first. */
  of(target: string): Placement[] {
    const rows = this.db
      .prepare(
        'SELECT dataset_id, version_id, paths, placed_at_ms FROM placements WHERE target = ? ORDER BY placed_at_ms DESC',
      )
      .all(target) as { dataset_id: string; version_id: string; paths: string | null; placed_at_ms: number }[];
    return rows.map((r) => ({
      datasetId: r.dataset_id,
      versionId: r.version_id,
      paths: r.paths === null ? null : (JSON.parse(r.paths) as string[]),
      placedAtMs: r.placed_at_ms,
    }));
  }

  add(target: string, p: Placement): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO placements (target, dataset_id, version_id, paths, placed_at_ms) VALUES (?, ?, ?, ?, ?)')
        .run(target, p.datasetId, p.versionId, p.paths === null ? null : JSON.stringify(p.paths), p.placedAtMs);
      this.db
        .prepare(
          `DELETE FROM placements WHERE target = ? AND rowid NOT IN
             (SELECT rowid FROM placements WHERE target = ? ORDER BY placed_at_ms DESC LIMIT ${KEPT})`,
        )
        .run(target, target);
    })();
  }
}
