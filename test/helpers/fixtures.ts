import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { strata, strataJson, type CliOptions } from './cli.js';

/** The JSON shapes the e2e tests read (docs/ describes them for users). */
export interface DatasetJson {
  id: string;
  name: string;
  description: string;
  storageProviderId: string;
  storageProviderName: string;
  createdAt: string;
  updatedAt: string;
}

export interface VersionJson {
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

export interface PutJson {
  ref: string;
  files: number;
  bytes: number;
  bytesUploaded: number;
  bytesSkipped: number;
  seconds: number;
}

export interface FileJson {
  path: string;
  type: 'file' | 'dir';
  size: number;
  sha256?: string;
  mode?: number;
  mtime?: string;
}

export interface TagJson {
  datasetId: string;
  name: string;
  versionId: string;
  ref: string;
  updatedAt: string;
}

/** Writes small text files (path → content) under root. */
export function writeFiles(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

export const createDataset = (o: CliOptions, name = 'demo'): Promise<DatasetJson> =>
  strataJson<DatasetJson>(['datasets', 'create', '--name', name], o);

export const openVersion = (o: CliOptions, dataset: string): Promise<VersionJson> =>
  strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', dataset], o);

/** A committed version holding the given sources (Gradient's one-step `versions create --source-path`). */
export const committedVersion = (o: CliOptions, dataset: string, ...sources: string[]): Promise<VersionJson> =>
  strataJson<VersionJson>(
    ['datasets', 'versions', 'create', '--id', dataset, ...sources.flatMap((s) => ['--source-path', s])],
    o,
  );

export const put = (o: CliOptions, ref: string, ...sources: string[]): Promise<PutJson> =>
  strataJson<PutJson>(['datasets', 'files', 'put', '--id', ref, ...sources.flatMap((s) => ['--source-path', s])], o);

export const listFilesJson = (o: CliOptions, ref: string): Promise<FileJson[]> =>
  strataJson<FileJson[]>(['datasets', 'files', 'list', '--id', ref, '--recursive'], o);

/** The rows of a cli-table3 table (header first), each cell trimmed. */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) =>
      line
        .split('│')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** A `details` table (Field | Value) as an object. */
export function detailsTable(text: string): Record<string, string> {
  const [head, ...rows] = tableRows(text);
  if (head?.join('|') !== 'Field|Value') throw new Error(`not a details table:\n${text}`);
  return Object.fromEntries(rows.map(([k, v]) => [k, v ?? '']));
}

/** Runs a command that must succeed quietly: exit 0, nothing on stderr; returns stdout. */
export async function ok(args: string[], o: CliOptions): Promise<string> {
  const r = await strata(args, o);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
  return r.stdout;
}

/** /dev/shm (tmpfs) and the temp directory are two filesystems on these machines. */
export const OTHER_FS = '/dev/shm';

export function expectTwoFilesystems(a: string, b: string): void {
  expect(statSync(a).dev, `${OTHER_FS} and the temp directory are one filesystem`).not.toBe(statSync(b).dev);
}

/**
 * A user whose local provider (in STRATA_HOME, a directory of `apart`, on OTHER_FS) is on another
 * filesystem than the cache (in a directory of `fresh`): the cache then holds copies of its own, as
 * it does for any S3 provider (on one filesystem it links storage's files: docs/cache.md).
 */
export function cacheApartFromStorage(fresh: () => string, apart: () => string): { o: CliOptions; cache: string } {
  const cache = join(fresh(), 'cache');
  const home = apart();
  expectTwoFilesystems(home, dirname(cache));
  return { o: { home, env: { STRATA_CACHE_DIR: cache } }, cache };
}
