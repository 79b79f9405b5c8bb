import type { Db } from './db.js';

export interface Writer {
  /** who: a process token (core/process-token.ts) and a number within the process */
  writer: string;
  /** what it is doing, for messages: "put of 2001 file(s)" */
  what: string;
  startedAt: string;
}

/**
 * Who is changing an uncommitted version: the puts writing files into it (version_writers) and
 * the commit sealing it (versions.committing) exclude each other, in transactions of the callers.
 */
export class ClaimQueries {
  constructor(private readonly db: Db) {}

  writers(datasetId: string, versionId: string): Writer[] {
    return (
      this.db
        .prepare('SELECT writer, what, started_at FROM version_writers WHERE dataset_id = ? AND version_id = ?')
        .all(datasetId, versionId) as { writer: string; what: string; started_at: string }[]
    ).map((r) => ({ writer: r.writer, what: r.what, startedAt: r.started_at }));
  }

  addWriter(datasetId: string, versionId: string, w: Writer): void {
    this.db
      .prepare('INSERT INTO version_writers (dataset_id, version_id, writer, what, started_at) VALUES (?, ?, ?, ?, ?)')
      .run(datasetId, versionId, w.writer, w.what, w.startedAt);
  }

  removeWriter(datasetId: string, versionId: string, writer: string): void {
    this.db
      .prepare('DELETE FROM version_writers WHERE dataset_id = ? AND version_id = ? AND writer = ?')
      .run(datasetId, versionId, writer);
  }

  setCommitting(datasetId: string, versionId: string, token: string | null): void {
    this.db
      .prepare('UPDATE versions SET committing = ? WHERE dataset_id = ? AND id = ?')
      .run(token, datasetId, versionId);
  }

  setIncomplete(datasetId: string, versionId: string, why: string | null): void {
    this.db
      .prepare('UPDATE versions SET incomplete = ? WHERE dataset_id = ? AND id = ?')
      .run(why, datasetId, versionId);
  }
}
