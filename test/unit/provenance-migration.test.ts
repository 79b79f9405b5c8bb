// Catalog migration 9: versions committed before manifests carried provenance get it from this
// machine's run records, in the shape a manifest carries it.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../src/catalog/migrations.js';

function catalogAt(version: number): Database.Database {
  const db = new Database(':memory:');
  for (const step of migrations.slice(0, version)) {
    if (typeof step === 'string') db.exec(step);
    else step(db);
  }
  return db;
}

describe('catalog migration 9', () => {
  it('fills the provenance of committed job outputs from the run records, inputs named and in order', () => {
    const db = catalogAt(8);
    db.exec(`
      INSERT INTO storage_providers (id, name, type, config, created_at) VALUES ('spl000000000001', 'local', 'local', '{}', 't');
      INSERT INTO datasets (id, name, storage_provider_id, created_at, updated_at) VALUES ('dst000000000raw', 'raw', 'spl000000000001', 't', 't');
      INSERT INTO datasets (id, name, storage_provider_id, created_at, updated_at) VALUES ('dst00000000model', 'model', 'spl000000000001', 't', 't');
      INSERT INTO versions (dataset_id, id, created_at, committed_at) VALUES ('dst000000000raw', 'r000001', 't', 't');
      INSERT INTO versions (dataset_id, id, created_at, committed_at) VALUES ('dst00000000model', 'm000001', 't', 't');
      INSERT INTO versions (dataset_id, id, created_at, committed_at) VALUES ('dst00000000model', 'm000002', 't', NULL);
      INSERT INTO runs (id, job, command, status, exit_code, isolation, host, runner_pid, log_path, started_at, ended_at)
        VALUES ('run000000000001', 'train', 'python train.py', 'succeeded', 0, 'none', 'h', 1, 'l', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z');
      INSERT INTO run_inputs (run_id, name, dataset_id, version_id) VALUES ('run000000000001', 'data', 'dst000000000raw', 'r000001');
      INSERT INTO run_inputs (run_id, name, url, git_commit) VALUES ('run000000000001', 'code', 'https://h/x.git', 'abc1234');
      INSERT INTO run_outputs (run_id, name, dataset_id, version_id, committed) VALUES ('run000000000001', 'model', 'dst00000000model', 'm000001', 1);
      INSERT INTO run_outputs (run_id, name, dataset_id, version_id, committed) VALUES ('run000000000001', 'next', 'dst00000000model', 'm000002', 0);
    `);
    const step = migrations[8]!;
    if (typeof step === 'string') db.exec(step);
    else step(db);
    const provenance = (id: string): unknown => {
      const row = db.prepare('SELECT provenance FROM versions WHERE id = ?').get(id) as { provenance: string | null };
      return row.provenance && JSON.parse(row.provenance);
    };
    expect(provenance('m000001')).toEqual({
      runId: 'run000000000001',
      job: 'train',
      command: 'python train.py',
      exitCode: 0,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:01:00.000Z',
      inputs: [
        {
          name: 'code',
          datasetId: null,
          datasetName: null,
          versionId: null,
          url: 'https://h/x.git',
          commit: 'abc1234',
        },
        {
          name: 'data',
          datasetId: 'dst000000000raw',
          datasetName: 'raw',
          versionId: 'r000001',
          url: null,
          commit: null,
        },
      ],
    });
    expect(provenance('r000001')).toBeNull(); // no job made it
    expect(provenance('m000002')).toBeNull(); // not committed: its commit writes it
  });
});
