/** The domain records every layer speaks in. */

export type ProviderType = 'local' | 's3';

export interface LocalProviderConfig {
  path: string;
}

export interface S3ProviderConfig {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region: string;
  signatureVersion: 'v4';
  /** where credentials come from: stored keys, the AWS environment chain, or a named profile */
  credentials: 'stored' | 'env' | 'profile';
  accessKey?: string;
  secretAccessKey?: string;
  profile?: string;
  /** false when the server was found to ignore If-None-Match / If-Match */
  conditionalWrites?: boolean;
  /** false: a put stores every blob as its own object, none in packs (docs/packs.md) */
  packs?: boolean;
}

export type Provider =
  | { id: string; name: string; type: 'local'; config: LocalProviderConfig; createdAt: string }
  | { id: string; name: string; type: 's3'; config: S3ProviderConfig; createdAt: string };

export interface Dataset {
  id: string;
  name: string;
  description: string;
  storageProviderId: string;
  createdAt: string;
  updatedAt: string;
}

export interface Version {
  datasetId: string;
  id: string;
  message: string;
  createdAt: string;
  committedAt: string | null;
  /** a committed version's file count and the digest of its file list, to catch a damaged catalog */
  seal: { count: number; digest: string } | null;
  /** the process committing it right now (a process token), if any */
  committing: string | null;
  /** why it may lack files: its last put did not finish */
  incomplete: string | null;
}

export interface FileEntry {
  /** manifest path: POSIX, relative, normalized */
  path: string;
  size: number;
  sha256: string;
  /** permission bits (e.g. 0o644, 0o755) */
  mode: number;
  mtimeMs: number;
}

export interface Tag {
  datasetId: string;
  name: string;
  versionId: string;
  updatedAt: string;
}

/** A job's run, as the catalog records it (jobs list, jobs details). */
export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';

/** The states a run no longer leaves. */
export const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'lost'];

export interface Run {
  id: string;
  job: string;
  specFile: string | null;
  command: string;
  status: RunStatus;
  exitCode: number | null;
  isolation: string;
  host: string;
  runnerPid: number;
  logPath: string;
  startedAt: string;
  endedAt: string | null;
  /** local: this machine ran it; slurm: handed to Slurm, its record in the bucket (runs/<run>.json) */
  executor: 'local' | 'slurm';
  slurmJobId: string | null;
  /** where the run's record lives (Slurm runs) */
  storageProviderId: string | null;
  /** the runs of this submission it waits for (Slurm runs) */
  needs: string[];
}

export interface RunInput {
  name: string;
  datasetId: string | null;
  versionId: string | null;
  url: string | null;
  /** the commit a git input was checked out at */
  commit: string | null;
}

/** A run's input as provenance names it: with its dataset's name as it was when the run read it. */
export interface ProvenanceInput extends RunInput {
  datasetName: string | null;
}

/**
 * Where a version made by a job came from: the run and the exact inputs it read. Written into
 * the version's committed manifest (docs/jobs.md), so it travels with the bucket.
 */
export interface Provenance {
  runId: string;
  job: string;
  command: string;
  exitCode: number | null;
  startedAt: string;
  endedAt: string | null;
  inputs: ProvenanceInput[];
}

export interface RunOutput {
  name: string;
  datasetId: string;
  versionId: string;
  committed: boolean;
}

/**
 * How files get from the cache into a directory:
 * - auto: reflink where the filesystem can, else copy — safe for a user who edits the files;
 * - reflink: copy-on-write clone, or fail where the filesystem has none;
 * - hardlink: the cache's own read-only inode — only for consumers that cannot write (the job
 *   runner's read-only input mounts): editing it would change the cache;
 * - copy: a verified byte copy.
 * Never symlinks: eviction would leave them dangling.
 */
export type LinkMode = 'auto' | 'reflink' | 'hardlink' | 'copy';
export const LINK_MODES: readonly LinkMode[] = ['auto', 'reflink', 'hardlink', 'copy'];
