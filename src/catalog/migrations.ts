import type { Db } from './db.js';
import { sealOf, type SealRow } from './seal.js';

/**
 * Numbered schema migrations, applied in order on open; never edit one that has shipped. A step is
 * SQL, or a function for what SQL cannot compute.
 */
export const migrations: readonly (string | ((db: Db) => void))[] = [
  /* 1 */ `
  CREATE TABLE storage_providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('local', 's3')),
    config TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    storage_provider_id TEXT NOT NULL REFERENCES storage_providers (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE versions (
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    committed_at TEXT,
    PRIMARY KEY (dataset_id, id)
  );
  CREATE TABLE files (
    dataset_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, version_id, path),
    FOREIGN KEY (dataset_id, version_id) REFERENCES versions (dataset_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE TABLE tags (
    dataset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (dataset_id, name),
    FOREIGN KEY (dataset_id, version_id) REFERENCES versions (dataset_id, id) ON DELETE CASCADE
  );
  -- Blobs this catalog knows a provider holds (stored or seen in a listing): lets a put skip them.
  CREATE TABLE provider_blobs (
    provider_id TEXT NOT NULL REFERENCES storage_providers (id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (provider_id, sha256)
  ) WITHOUT ROWID;
  `,
  /* 2 */ `
  -- A run of one job: what ran, how it ended, and the exact versions it read and made.
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    spec_file TEXT,
    command TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'lost')),
    exit_code INTEGER,
    isolation TEXT NOT NULL,
    host TEXT NOT NULL,
    runner_pid INTEGER NOT NULL,
    log_path TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
  );
  CREATE TABLE run_inputs (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dataset_id TEXT,
    version_id TEXT,
    url TEXT,
    PRIMARY KEY (run_id, name)
  );
  CREATE TABLE run_outputs (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, name)
  );
  CREATE INDEX run_outputs_by_version ON run_outputs (dataset_id, version_id);
  `,
  /* 3 */ `
  -- sha256 of local files by where they are and their stat stamp (device, inode, size, mtime,
  -- ctime): a put skips reading a file whose stamp has not changed since it was last hashed.
  CREATE TABLE hash_cache (
    path TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    sha256 TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  /* 4 */ `
  -- A committed version's seal: how many files it has and the sha256 of its file list, so a
  -- damaged catalog that lost or changed rows cannot serve a partial version as if whole.
  ALTER TABLE versions ADD COLUMN file_count INTEGER;
  ALTER TABLE versions ADD COLUMN files_digest TEXT;
  -- The process committing the version (a token: host, pid, start); no put may enter meanwhile.
  ALTER TABLE versions ADD COLUMN committing TEXT;
  -- Why the version may lack files (its last put did not finish); commit refuses it until a put
  -- finishes or it is told --allow-incomplete.
  ALTER TABLE versions ADD COLUMN incomplete TEXT;
  -- Processes writing files into an uncommitted version right now (a put, a job's output sync).
  CREATE TABLE version_writers (
    dataset_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    writer TEXT NOT NULL,
    what TEXT NOT NULL,
    started_at TEXT NOT NULL,
    PRIMARY KEY (dataset_id, version_id, writer),
    FOREIGN KEY (dataset_id, version_id) REFERENCES versions (dataset_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  -- The garbage collections of the bucket this catalog knows of (gc/state.json): what it believes
  -- the bucket holds (provider_blobs) is from that generation.
  ALTER TABLE storage_providers ADD COLUMN gc_generation INTEGER NOT NULL DEFAULT 0;
  `,
  /* 5 */ sealCommitted,
  /* 6 */ `
  -- The gets into each local directory (absolute path): which version, which of its paths (JSON
  -- array; NULL: all), and when the last file was in place. A later get replaces a file only
  -- while it is as a get left it (docs/cache.md, "Getting into a directory that has files").
  CREATE TABLE placements (
    target TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    paths TEXT,
    placed_at_ms INTEGER NOT NULL
  );
  CREATE INDEX placements_by_target ON placements (target, placed_at_ms);
  `,
  /* 7 */ `ALTER TABLE run_inputs ADD COLUMN git_commit TEXT; -- the commit a git input was checked out at`,
  /* 8 */ `
  -- The packs a provider is known to hold (docs/packs.md) and their tables: which blob is where.
  -- A belief about the bucket, like provider_blobs: forgotten with it, rebuilt from the tables.
  CREATE TABLE packs (
    provider_id TEXT NOT NULL REFERENCES storage_providers (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (provider_id, id)
  ) WITHOUT ROWID;
  CREATE TABLE packed_blobs (
    provider_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (provider_id, sha256, pack_id),
    FOREIGN KEY (provider_id, pack_id) REFERENCES packs (provider_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX packed_blobs_by_pack ON packed_blobs (provider_id, pack_id, offset);
  `,
  /* 9 */ `
  ALTER TABLE versions ADD COLUMN provenance TEXT; -- JSON: where a job-made version came from, as its manifest says
  -- Versions committed before manifests carried provenance get it from this machine's run records.
  UPDATE versions SET provenance = (
    SELECT json_object(
      'runId', r.id, 'job', r.job, 'command', r.command, 'exitCode', r.exit_code,
      'startedAt', r.started_at, 'endedAt', r.ended_at,
      'inputs', (
        SELECT json_group_array(json_object(
          'name', i.name, 'datasetId', i.dataset_id, 'datasetName', d.name, 'versionId', i.version_id,
          'url', i.url, 'commit', i.git_commit))
        FROM (SELECT * FROM run_inputs WHERE run_id = r.id ORDER BY name) i
        LEFT JOIN datasets d ON d.id = i.dataset_id))
    FROM run_outputs o JOIN runs r ON r.id = o.run_id
    WHERE o.dataset_id = versions.dataset_id AND o.version_id = versions.id)
  WHERE committed_at IS NOT NULL;
  `,
  /* 10 */ `
  -- Runs handed to a cluster scheduler (docs/jobs.md, "On a Slurm cluster"): pending and cancelled
  -- states, the executor, the scheduler's job id, the provider whose bucket holds the run's record
  -- (runs/<run>.json) and the runs it needs (a JSON array). A CHECK cannot be altered: the table is
  -- made again, its inputs and outputs kept aside while the old one (and its cascade) goes.
  CREATE TEMP TABLE kept_run_inputs AS SELECT * FROM run_inputs;
  CREATE TEMP TABLE kept_run_outputs AS SELECT * FROM run_outputs;
  CREATE TABLE runs_new (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    spec_file TEXT,
    command TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'lost')),
    exit_code INTEGER,
    isolation TEXT NOT NULL,
    host TEXT NOT NULL,
    runner_pid INTEGER NOT NULL,
    log_path TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    executor TEXT NOT NULL DEFAULT 'local' CHECK (executor IN ('local', 'slurm')),
    slurm_job_id TEXT,
    storage_provider_id TEXT,
    needs TEXT NOT NULL DEFAULT '[]'
  );
  INSERT INTO runs_new (id, job, spec_file, command, status, exit_code, isolation, host, runner_pid, log_path, started_at, ended_at)
    SELECT id, job, spec_file, command, status, exit_code, isolation, host, runner_pid, log_path, started_at, ended_at FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_new RENAME TO runs;
  INSERT INTO run_inputs SELECT * FROM kept_run_inputs;
  INSERT INTO run_outputs SELECT * FROM kept_run_outputs;
  DROP TABLE kept_run_inputs;
  DROP TABLE kept_run_outputs;
  `,
];

/** Seals the versions committed before seals existed, from the rows they have now. */
function sealCommitted(db: Db): void {
  const versions = db
    .prepare('SELECT dataset_id, id FROM versions WHERE committed_at IS NOT NULL AND files_digest IS NULL')
    .all() as { dataset_id: string; id: string }[];
  const rows = db
    .prepare(
      'SELECT path, size, sha256, mode, mtime_ms FROM files WHERE dataset_id = ? AND version_id = ? ORDER BY path',
    )
    .raw();
  const seal = db.prepare('UPDATE versions SET file_count = ?, files_digest = ? WHERE dataset_id = ? AND id = ?');
  for (const v of versions) {
    const { count, digest } = sealOf(rows.iterate(v.dataset_id, v.id) as Iterable<SealRow>);
    seal.run(count, digest, v.dataset_id, v.id);
  }
}
