/** Numbered schema migrations, applied in order on open; never edit one that has shipped. */
export const migrations: readonly string[] = [
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
];
