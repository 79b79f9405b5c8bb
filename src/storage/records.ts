import type { Dataset, FileEntry, Provenance, Tag, Version } from '../core/model.js';
import { IntegrityError } from '../core/errors.js';
import { checkManifestPath } from '../core/paths-in-manifest.js';
import { DATASET_ID, SHA256_HEX, VERSION_ID } from '../core/ids.js';
import { parseProvenance } from './provenance-doc.js';

/**
 * The documents that make a bucket describe itself (DESIGN.md's layout): dataset.json, one
 * manifest per committed version, one file per tag. What we read back is untrusted input: every
 * field is checked, and a bad document is refused with an error naming its key.
 */

export interface DatasetDoc {
  format: 'strata.dataset/1';
  id: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export interface ManifestDoc {
  format: 'strata.manifest/1';
  datasetId: string;
  versionId: string;
  message: string;
  createdAt: string;
  committedAt: string;
  /** where a version a job made came from (added later, optional: older Strata ignores it) */
  provenance?: Provenance;
  files: FileEntry[];
}

export interface TagDoc {
  format: 'strata.tag/1';
  datasetId: string;
  name: string;
  versionId: string;
  updatedAt: string;
}

export const datasetDoc = (d: Dataset): DatasetDoc => ({
  format: 'strata.dataset/1',
  id: d.id,
  name: d.name,
  description: d.description,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** A document's files: a list, or rows read as it is written (doc-file.ts). */
type WithFiles<D, F> = Omit<D, 'files'> & { files: F };

export const manifestDoc = <F extends Iterable<FileEntry> = FileEntry[]>(
  v: VersionHead & { committedAt: string },
  files: F,
  provenance?: Provenance,
): WithFiles<ManifestDoc, F> => ({
  format: 'strata.manifest/1',
  datasetId: v.datasetId,
  versionId: v.id,
  message: v.message,
  createdAt: v.createdAt,
  committedAt: v.committedAt,
  ...(provenance ? { provenance } : {}),
  files,
});

/** What a bucket document says of a version besides its files. */
type VersionHead = Pick<Version, 'datasetId' | 'id' | 'message' | 'createdAt'>;

export const tagDoc = (t: Tag): TagDoc => ({
  format: 'strata.tag/1',
  datasetId: t.datasetId,
  name: t.name,
  versionId: t.versionId,
  updatedAt: t.updatedAt,
});

export const encodeDoc = (doc: DatasetDoc | ManifestDoc | TagDoc | DraftDoc | GcStateDoc): Buffer =>
  Buffer.from(JSON.stringify(doc));

/** Refuses a bucket document, naming its key and what is wrong with it. */
export const refuse = (key: string, what: string): never => {
  throw new IntegrityError(`refusing ${key}: ${what}`, 'EBADRECORD');
};

/** A bucket document's JSON object, refused unless it is one and names `format`. */
export function parseJsonDoc(key: string, bytes: Buffer, format: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return refuse(key, 'not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse(key, 'not a JSON object');
  const doc = value as Record<string, unknown>;
  if (doc.format !== format) refuse(key, `format is not ${format}`);
  return doc;
}

class Reader {
  constructor(
    private readonly key: string,
    private readonly value: Record<string, unknown>,
  ) {}

  fail(what: string): never {
    return refuse(this.key, what);
  }

  string(field: string, pattern?: RegExp): string {
    const v = this.value[field];
    if (typeof v !== 'string' || (pattern && !pattern.test(v))) this.fail(`bad or missing "${field}"`);
    return v;
  }

  /** Fields a later format added: absent is fine, anything but a string is not. */
  optionalStrings<K extends string>(...fields: K[]): Partial<Record<K, string>> {
    const out: Partial<Record<K, string>> = {};
    for (const field of fields) {
      const v = this.value[field];
      if (v === undefined) continue;
      if (typeof v !== 'string') this.fail(`bad "${field}"`);
      out[field] = v;
    }
    return out;
  }
}

function parseObject(key: string, bytes: Buffer, format: string): Reader & { raw: Record<string, unknown> } {
  const raw = parseJsonDoc(key, bytes, format);
  return Object.assign(new Reader(key, raw), { raw });
}

export function parseDatasetDoc(key: string, bytes: Buffer): DatasetDoc {
  const r = parseObject(key, bytes, 'strata.dataset/1');
  return {
    format: 'strata.dataset/1',
    id: r.string('id', DATASET_ID),
    name: r.string('name', /^[A-Za-z0-9._-]+$/),
    description: r.string('description'),
    createdAt: r.string('createdAt'),
    updatedAt: r.string('updatedAt'),
  };
}

export function parseTagDoc(key: string, bytes: Buffer): TagDoc {
  const r = parseObject(key, bytes, 'strata.tag/1');
  return {
    format: 'strata.tag/1',
    datasetId: r.string('datasetId', DATASET_ID),
    name: r.string('name', /^[A-Za-z0-9._-]+$/),
    versionId: r.string('versionId', VERSION_ID),
    updatedAt: r.string('updatedAt'),
  };
}

/**
 * A manifest, refused whole when anything of the version is wrong. Its provenance is not the
 * version: a malformed one is dropped, said in `droppedProvenance`, and the version kept.
 */
export function parseManifestDoc(key: string, bytes: Buffer): ManifestDoc & { droppedProvenance?: string } {
  const r = parseObject(key, bytes, 'strata.manifest/1');
  const { provenance, dropped } = parseProvenance(r.raw.provenance);
  return {
    format: 'strata.manifest/1',
    datasetId: r.string('datasetId', DATASET_ID),
    versionId: r.string('versionId', VERSION_ID),
    message: r.string('message'),
    createdAt: r.string('createdAt'),
    committedAt: r.string('committedAt'),
    ...(provenance ? { provenance } : {}),
    ...(dropped ? { droppedProvenance: dropped } : {}),
    files: parseFiles(r),
  };
}

function parseFiles(r: Reader & { raw: Record<string, unknown> }): FileEntry[] {
  const files: unknown = r.raw.files;
  if (!Array.isArray(files)) return r.fail('"files" is not a list');
  const seen = new Set<string>();
  return (files as unknown[]).map((f, i): FileEntry => {
    if (typeof f !== 'object' || f === null) r.fail(`file #${i} is not an object`);
    const { path, size, sha256, mode, mtimeMs } = f as Record<string, unknown>;
    if (typeof path !== 'string') return r.fail(`file #${i} has no path`);
    const problem = checkManifestPath(path);
    if (problem) r.fail(`file path "${path}": ${problem}`);
    if (seen.has(path)) r.fail(`file path "${path}" appears twice`);
    seen.add(path);
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256))
      return r.fail(`file "${path}": sha256 is not 64 hex digits`);
    if (!Number.isSafeInteger(size) || (size as number) < 0) r.fail(`file "${path}": bad size`);
    if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o7777)
      r.fail(`file "${path}": bad mode`);
    if (!Number.isFinite(mtimeMs)) r.fail(`file "${path}": bad mtimeMs`);
    return { path, size: size as number, sha256, mode: mode as number, mtimeMs: mtimeMs as number };
  });
}

/**
 * The files of an uncommitted version, so garbage collection anywhere keeps their blobs. `owner`
 * (host and STRATA_HOME of the catalog the version is open in), `message` and `createdAt` came
 * later and are optional: they let that catalog, rebuilt, open the version again.
 */
export interface DraftDoc {
  format: 'strata.draft/1';
  datasetId: string;
  versionId: string;
  updatedAt: string;
  owner?: string;
  message?: string;
  createdAt?: string;
  files: FileEntry[];
}

export const draftDoc = <F extends Iterable<FileEntry> = FileEntry[]>(
  v: VersionHead,
  owner: string,
  files: F,
): WithFiles<DraftDoc, F> => ({
  format: 'strata.draft/1',
  datasetId: v.datasetId,
  versionId: v.id,
  updatedAt: new Date().toISOString(),
  owner,
  message: v.message,
  createdAt: v.createdAt,
  files,
});

/** A draft is checked like a manifest: its paths and hashes are as untrusted. */
export function parseDraftDoc(key: string, bytes: Buffer): DraftDoc {
  const r = parseObject(key, bytes, 'strata.draft/1');
  return {
    format: 'strata.draft/1',
    datasetId: r.string('datasetId', DATASET_ID),
    versionId: r.string('versionId', VERSION_ID),
    updatedAt: r.string('updatedAt'),
    ...r.optionalStrings('owner', 'message', 'createdAt'),
    files: parseFiles(r),
  };
}

/**
 * gc/state.json: the garbage collector announces itself here before it reads what the bucket
 * references, and bumps the generation, so a put or commit that overlapped it knows to check its
 * blobs again (docs/teams.md, "Garbage collection").
 */
export interface GcStateDoc {
  format: 'strata.gc/1';
  /** bumped by every collection as it starts */
  generation: number;
  /** the generation of the last collection that removed anything (or may have: one that died) */
  removedIn: number;
  /** the collection running now: who, since when; it rewrites the document as a heartbeat */
  active: { by: string; startedAt: string; heartbeatAt: string } | null;
}

export function parseGcStateDoc(key: string, bytes: Buffer): GcStateDoc {
  const r = parseObject(key, bytes, 'strata.gc/1');
  const generation = r.raw.generation;
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) r.fail('bad "generation"');
  const active = r.raw.active;
  if (active !== null && (typeof active !== 'object' || Array.isArray(active))) r.fail('bad "active"');
  let parsed: GcStateDoc['active'] = null;
  if (active) {
    const a = new Reader(key, active as Record<string, unknown>);
    parsed = { by: a.string('by'), startedAt: a.string('startedAt'), heartbeatAt: a.string('heartbeatAt') };
  }
  const removedIn = r.raw.removedIn ?? generation;
  if (!Number.isSafeInteger(removedIn) || (removedIn as number) < 0) r.fail('bad "removedIn"');
  return { format: 'strata.gc/1', generation: generation as number, removedIn: removedIn as number, active: parsed };
}
