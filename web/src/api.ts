/** The page's side of the HTTP API (src/web/api.ts): JSON in and out, errors as one line. */
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

export interface VersionView {
  datasetId: string;
  id: string;
  ref: string;
  message: string;
  isCommitted: boolean;
  createdAt: string;
  committedAt: string | null;
  tags: string[];
  fileCount: number;
  size: number;
}

export interface DatasetDetails {
  dataset: { id: string; name: string; description: string; storageProviderName: string; tags: string[] };
  versions: VersionView[];
}

export interface FolderEntry {
  name: string;
  path: string;
  type: 'file' | 'dir';
  size: number;
  fileCount?: number;
  mode?: number;
  mtime?: string;
}

export interface FolderPage {
  ref: string;
  path: string;
  fileCount: number;
  size: number;
  entries: FolderEntry[];
  before: string | null;
  after: string | null;
}

export type Preview =
  | { kind: 'image' }
  | { kind: 'text' | 'json'; text: string; truncated: boolean }
  | { kind: 'csv'; rows: string[][]; truncated: boolean }
  | { kind: 'hex'; lines: string[]; truncated: boolean }
  | { kind: 'none'; reason: string };

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

export type LineageNode =
  | {
      kind: 'version';
      id: string;
      datasetId: string;
      versionId: string;
      dataset: string | null;
      message: string | null;
    }
  | { kind: 'run'; id: string; job: string; command: string; exitCode: number | null; startedAt: string }
  | { kind: 'url'; id: string; url: string; commit: string | null };

export interface Lineage {
  root: string;
  nodes: LineageNode[];
  edges: { from: string; to: string; input?: string }[];
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
