/** The page's side of the HTTP API (src/web/api.ts): JSON in and out, errors as one line. */
// The shapes the server's use cases return, type-checked against them (erased at build).
import type { VersionView } from '../../src/services/versions.js';
import type { FolderEntry, FolderPage } from '../../src/services/folders.js';
import type { Preview } from '../../src/web/preview.js';
import type { Lineage, LineageNode } from '../../src/services/lineage.js';

export type { FolderEntry, FolderPage, Lineage, LineageNode, Preview, VersionView };
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Sent on every change: the server refuses a state-changing request without it (no cross-site writes). */
export const STATE_HEADER = { 'x-strata-request': '1' };

async function parse<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? 'EHTTP', body?.error?.message ?? res.statusText);
  return body as T;
}

export const get = <T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> =>
  fetch(withQuery(path, query), { credentials: 'same-origin' }).then((r) => parse<T>(r));

export const post = <T>(path: string, body: unknown = {}): Promise<T> =>
  fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', ...STATE_HEADER },
    body: JSON.stringify(body),
  }).then((r) => parse<T>(r));

export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const enc = encodeURIComponent;

export interface DatasetRow {
  id: string;
  name: string;
  description: string;
  storageProviderName: string;
  versionCount: number;
  latest: string | null;
  size: number;
  fileCount: number;
  updatedAt: string;
}

export interface DatasetDetails {
  dataset: { id: string; name: string; description: string; storageProviderName: string; tags: string[] };
  versions: VersionView[];
}

export interface FilePreview {
  ref: string;
  path: string;
  size: number;
  mode: number;
  mtime: string;
  sha256: string;
  preview: Preview;
}

export interface Capped<T> {
  count: number;
  items: T[];
}

export interface Diff {
  from: string;
  to: string;
  added: Capped<string>;
  removed: Capped<string>;
  changed: Capped<string>;
  renamed: Capped<{ from: string; to: string }>;
}

export interface Run {
  id: string;
  job: string;
  command: string;
  status: string;
  exitCode: number | null;
  executor: string;
  startedAt: string;
  endedAt: string | null;
  inputs?: { name: string; datasetId: string | null; versionId: string | null; datasetName: string | null }[];
  outputs?: { name: string; datasetId: string; versionId: string | null; datasetName: string | null }[];
}

export interface VersionDetails extends VersionView {
  datasetName: string;
  provenance: { runId: string; job: string; command: string; exitCode: number | null } | null;
}
