import type { Db } from './db.js';
import type { Dataset, Provenance, Tag, Version } from '../core/model.js';
import type { Seal } from './seal.js';

/** A version as first recorded: no seal until committed, no claim on it yet. */
export type NewVersion = Omit<Version, 'seal' | 'committing' | 'incomplete'> & { incomplete?: string | null };

interface DatasetRow {
  id: string;
  name: string;
  description: string;
  storage_provider_id: string;
  created_at: string;
  updated_at: string;
}
interface VersionRow {
  dataset_id: string;
  id: string;
  message: string;
  created_at: string;
  committed_at: string | null;
  file_count: number | null;
  files_digest: string | null;
  committing: string | null;
  incomplete: string | null;
}
interface TagRow {
  dataset_id: string;
  name: string;
  version_id: string;
  updated_at: string;
}

const toDataset = (r: DatasetRow): Dataset => ({
  id: r.id,
  name: r.name,
  description: r.description,
  storageProviderId: r.storage_provider_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toVersion = (r: VersionRow): Version => ({
  datasetId: r.dataset_id,
  id: r.id,
  message: r.message,
  createdAt: r.created_at,
  committedAt: r.committed_at,
  seal: r.files_digest === null ? null : { count: r.file_count ?? 0, digest: r.files_digest },
  committing: r.committing,
  incomplete: r.incomplete,
});
const toTag = (r: TagRow): Tag => ({
  datasetId: r.dataset_id,
  name: r.name,
  versionId: r.version_id,
  updatedAt: r.updated_at,
});

/** Datasets, their versions and their tags. */
export class DatasetQueries {
  constructor(private readonly db: Db) {}

  list(): Dataset[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY created_at, id').all() as DatasetRow[]).map(toDataset);
  }

  get(id: string): Dataset | undefined {
    const row = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRow | undefined;
    return row && toDataset(row);
  }

  byName(name: string): Dataset | undefined {
    const row = this.db.prepare('SELECT * FROM datasets WHERE name = ?').get(name) as DatasetRow | undefined;
    return row && toDataset(row);
  }

  insert(d: Dataset): void {
    this.db
      .prepare(
        'INSERT INTO datasets (id, name, description, storage_provider_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(d.id, d.name, d.description, d.storageProviderId, d.createdAt, d.updatedAt);
  }

  update(d: Dataset): void {
    this.db
      .prepare('UPDATE datasets SET name = ?, description = ?, updated_at = ? WHERE id = ?')
      .run(d.name, d.description, d.updatedAt, d.id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
  }

  versions(datasetId: string, filter: { committed?: boolean } = {}): Version[] {
    const where =
      filter.committed === undefined
        ? ''
        : filter.committed
          ? 'AND committed_at IS NOT NULL'
          : 'AND committed_at IS NULL';
    return (
      this.db
        .prepare(`SELECT * FROM versions WHERE dataset_id = ? ${where} ORDER BY created_at, id`)
        .all(datasetId) as VersionRow[]
    ).map(toVersion);
  }

  version(datasetId: string, id: string): Version | undefined {
    const row = this.db.prepare('SELECT * FROM versions WHERE dataset_id = ? AND id = ?').get(datasetId, id) as
      VersionRow | undefined;
    return row && toVersion(row);
  }

  /** `latest`: the most recently committed version (commit time, then id). */
  latestCommitted(datasetId: string): Version | undefined {
    const row = this.db
      .prepare(
        'SELECT * FROM versions WHERE dataset_id = ? AND committed_at IS NOT NULL ORDER BY committed_at DESC, id DESC LIMIT 1',
      )
      .get(datasetId) as VersionRow | undefined;
    return row && toVersion(row);
  }

  insertVersion(v: NewVersion): void {
    this.db
      .prepare(
        'INSERT INTO versions (dataset_id, id, message, created_at, committed_at, incomplete) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(v.datasetId, v.id, v.message, v.createdAt, v.committedAt, v.incomplete ?? null);
  }

  updateMessage(datasetId: string, id: string, message: string): void {
    this.db.prepare('UPDATE versions SET message = ? WHERE dataset_id = ? AND id = ?').run(message, datasetId, id);
  }

  /** Marks a version committed, with the seal of its file list; no claim on it remains. */
  /** Records where a version came from (its manifest's provenance); null forgets it. */
  setProvenance(datasetId: string, id: string, provenance: Provenance | null): void {
    this.db
      .prepare('UPDATE versions SET provenance = ? WHERE dataset_id = ? AND id = ?')
      .run(provenance && JSON.stringify(provenance), datasetId, id);
  }

  provenance(datasetId: string, id: string): Provenance | undefined {
    const row = this.db
      .prepare('SELECT provenance FROM versions WHERE dataset_id = ? AND id = ?')
      .get(datasetId, id) as { provenance: string | null } | undefined;
    return row?.provenance ? (JSON.parse(row.provenance) as Provenance) : undefined;
  }

  /** The versions whose provenance names this version among its inputs (what runs made from it). */
  madeFrom(datasetId: string, id: string): { datasetId: string; id: string; provenance: Provenance }[] {
    return (
      this.db
        .prepare(
          `SELECT DISTINCT v.dataset_id, v.id, v.provenance FROM versions v, json_each(v.provenance, '$.inputs') i
           WHERE v.provenance IS NOT NULL AND json_extract(i.value, '$.datasetId') = ? AND json_extract(i.value, '$.versionId') = ?
           ORDER BY v.committed_at, v.id`,
        )
        .all(datasetId, id) as { dataset_id: string; id: string; provenance: string }[]
    ).map((r) => ({ datasetId: r.dataset_id, id: r.id, provenance: JSON.parse(r.provenance) as Provenance }));
  }

  markCommitted(datasetId: string, id: string, committedAt: string, seal: Seal): void {
    this.db
      .prepare(
        `UPDATE versions SET committed_at = ?, file_count = ?, files_digest = ?, committing = NULL, incomplete = NULL
         WHERE dataset_id = ? AND id = ?`,
      )
      .run(committedAt, seal.count, seal.digest, datasetId, id);
  }

  deleteVersion(datasetId: string, id: string): void {
    this.db.prepare('DELETE FROM versions WHERE dataset_id = ? AND id = ?').run(datasetId, id);
  }

  versionCount(datasetId: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM versions WHERE dataset_id = ?').get(datasetId) as { n: number })
      .n;
  }

  tags(datasetId: string): Tag[] {
    return (this.db.prepare('SELECT * FROM tags WHERE dataset_id = ? ORDER BY name').all(datasetId) as TagRow[]).map(
      toTag,
    );
  }

  tag(datasetId: string, name: string): Tag | undefined {
    const row = this.db.prepare('SELECT * FROM tags WHERE dataset_id = ? AND name = ?').get(datasetId, name) as
      TagRow | undefined;
    return row && toTag(row);
  }

  tagsOf(datasetId: string, versionId: string): Tag[] {
    return (
      this.db
        .prepare('SELECT * FROM tags WHERE dataset_id = ? AND version_id = ? ORDER BY name')
        .all(datasetId, versionId) as TagRow[]
    ).map(toTag);
  }

  upsertTag(t: Tag): void {
    this.db
      .prepare(
        `INSERT INTO tags (dataset_id, name, version_id, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (dataset_id, name) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at`,
      )
      .run(t.datasetId, t.name, t.versionId, t.updatedAt);
  }

  deleteTag(datasetId: string, name: string): void {
    this.db.prepare('DELETE FROM tags WHERE dataset_id = ? AND name = ?').run(datasetId, name);
  }
}
