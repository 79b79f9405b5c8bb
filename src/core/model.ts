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
