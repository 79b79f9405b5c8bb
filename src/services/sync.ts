import type { AppContext } from './context.js';
import type { Dataset, Provider } from '../core/model.js';
import { IntegrityError, type StrataError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { LATEST, parseRef } from '../core/refs.js';
import { DATASET_ID } from '../core/ids.js';
import { readObject, type StorageBackend } from '../storage/backend.js';
import { DATASETS_PREFIX, datasetPrefix } from '../storage/keys.js';
import {
  parseDatasetDoc,
  parseManifestDoc,
  parseTagDoc,
  type DatasetDoc,
  type ManifestDoc,
  type TagDoc,
} from '../storage/records.js';
import { presentBlobs } from '../transfer/presence.js';
import { checkFormat, loadPackTables } from './packs.js';
import { findProvider } from './resolve.js';
import { createS3Provider, type ProviderView, type S3ProviderInput } from './providers.js';

/** A version as a person reads it: its ref, and its dataset's name beside the id. */
export interface NamedVersion {
  ref: string;
  dataset: string;
}

export interface SyncResult {
  providerId: string;
  providerName: string;
  datasets: { added: number; updated: number; removed: number };
  versions: { added: number; removed: number };
  /** the versions counted in `versions` */
  versionRefs: { added: NamedVersion[]; removed: NamedVersion[] };
  tags: { set: number; removed: number };
  /** object keys refused as untrusted input, with why */
  refused: { key: string; reason: string }[];
}

interface RemoteDataset {
  doc?: DatasetDoc;
  /** dataset.json is there but was refused: the catalog keeps what it has of the dataset */
  refused?: boolean;
  manifests: string[];
  tags: string[];
}

const idOfKey = (key: string): string => key.slice(key.lastIndexOf('/') + 1, -'.json'.length);

const emptyResult = (provider: Provider): SyncResult => ({
  providerId: provider.id,
  providerName: provider.name,
  datasets: { added: 0, updated: 0, removed: 0 },
  versions: { added: 0, removed: 0 },
  versionRefs: { added: [], removed: [] },
  tags: { set: 0, removed: 0 },
  refused: [],
});

/**
 * Brings the catalog up to date with what the bucket says: datasets, committed versions (their
 * manifests) and tags appear, move or go. Every document read is untrusted: a bad one is refused,
 * named, and nothing of it enters the catalog; the rest is applied.
 */
export async function syncProvider(ctx: AppContext, provider: Provider, only?: string): Promise<SyncResult> {
  const backend = await ctx.backend(provider);
  const result = emptyResult(provider);
  const remote = await readRemote(backend, only, result);
  const { datasets } = ctx.catalog;

  // Committed versions never change: read only the manifests this catalog has not committed.
  const fresh = new Map<string, ManifestDoc[]>();
  for (const [id, r] of remote) {
    const list: ManifestDoc[] = [];
    for (const key of r.manifests) {
      const versionId = idOfKey(key);
      if (datasets.version(id, versionId)?.committedAt) continue;
      const manifest = await readDoc(backend, key, parseManifestDoc, result);
      if (manifest?.droppedProvenance) {
        ctx.reporter.warn(
          `${key}: dropped its provenance (${manifest.droppedProvenance}); the version is usable without it`,
        );
      }
      if (manifest) list.push(Object.assign(manifest, { key }));
    }
    fresh.set(id, list);
  }
  const blobs = await presentIn(ctx, provider, backend, result, [...fresh.values()].flat());

  for (const [id, r] of remote) {
    if (!r.doc) continue;
    const manifests: ManifestDoc[] = [];
    for (const manifest of fresh.get(id) ?? []) {
      const key = (manifest as ManifestDoc & { key: string }).key;
      const problem = checkManifest(manifest, id, key, blobs);
      if (problem) result.refused.push({ key, reason: problem });
      else manifests.push(manifest);
    }
    const remoteVersionIds = new Set(r.manifests.map(idOfKey));
    // A tag may point only at a version whose manifest is in the bucket now (a local version the
    // bucket no longer has is about to go) and that was accepted.
    const known = new Set([
      ...manifests.map((m) => m.versionId),
      ...committedIds(ctx, id).filter((v) => remoteVersionIds.has(v)),
    ]);
    const tags: TagDoc[] = [];
    /** tags whose object was refused: the catalog keeps what it had of them */
    const refusedTags = new Set<string>();
    for (const key of r.tags) {
      const tag = await readDoc(backend, key, parseTagDoc, result);
      if (!tag) refusedTags.add(idOfKey(key));
      else if (tag.datasetId !== id || !key.endsWith(`/tags/${tag.name}.json`)) {
        result.refused.push({ key, reason: `names tag ${tag.datasetId}:${tag.name}, not the tag its key says` });
        refusedTags.add(idOfKey(key));
      } else if (!known.has(tag.versionId)) {
        result.refused.push({ key, reason: `tag points at ${tag.datasetId}:${tag.versionId}, which has no manifest` });
        refusedTags.add(idOfKey(key));
      } else tags.push(tag);
    }
    const conflicting = datasets.byName(r.doc.name);
    if (conflicting && conflicting.id !== id) {
      result.refused.push({
        key: `${datasetPrefix(id)}dataset.json`,
        reason: `a different local dataset is named "${r.doc.name}" (${conflicting.id})`,
      });
      continue;
    }
    ctx.catalog.transaction(() => {
      applyDataset(ctx, provider, r.doc!, manifests, remoteVersionIds, tags, refusedTags, result);
      faultPoint('sync:in-transaction');
    });
  }

  // What the catalog holds on this provider and the bucket no longer does.
  for (const local of datasets.list()) {
    if (local.storageProviderId !== provider.id || (only && local.id !== only)) continue;
    const r = remote.get(local.id);
    if (!r?.doc && !r?.refused) {
      datasets.delete(local.id);
      result.datasets.removed++;
    }
  }
  return result;
}

function applyDataset(
  ctx: AppContext,
  provider: Provider,
  doc: DatasetDoc,
  manifests: ManifestDoc[],
  remoteVersionIds: Set<string>,
  tags: TagDoc[],
  refusedTags: Set<string>,
  result: SyncResult,
): void {
  const { datasets, files } = ctx.catalog;
  const existing = datasets.get(doc.id);
  const dataset: Dataset = {
    id: doc.id,
    name: doc.name,
    description: doc.description,
    storageProviderId: provider.id,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
  if (!existing) {
    datasets.insert(dataset);
    result.datasets.added++;
  } else if (existing.name !== doc.name || existing.description !== doc.description) {
    datasets.update(dataset);
    result.datasets.updated++;
  }
  for (const m of manifests) {
    const local = datasets.version(doc.id, m.versionId);
    if (local?.committedAt) continue; // committed versions never change
    // A local version with this id was committed here by a commit killed after its manifest was
    // written: the manifest is what it is.
    if (local) {
      files.deleteUnder(doc.id, m.versionId, '');
      datasets.updateMessage(doc.id, m.versionId, m.message);
    } else {
      const { versionId: id, message, createdAt } = m;
      datasets.insertVersion({ datasetId: doc.id, id, message, createdAt, committedAt: null });
    }
    files.upsert(doc.id, m.versionId, m.files);
    datasets.markCommitted(doc.id, m.versionId, m.committedAt, files.seal(doc.id, m.versionId));
    if (m.provenance) datasets.setProvenance(doc.id, m.versionId, m.provenance);
    files.recordProviderBlobs(provider.id, m.files);
    result.versions.added++;
    result.versionRefs.added.push({ ref: `${doc.id}:${m.versionId}`, dataset: doc.name });
  }
  for (const v of datasets.versions(doc.id, { committed: true })) {
    if (!remoteVersionIds.has(v.id)) {
      datasets.deleteVersion(doc.id, v.id);
      result.versions.removed++;
      result.versionRefs.removed.push({ ref: `${doc.id}:${v.id}`, dataset: doc.name });
    }
  }
  const remoteTags = new Map(tags.map((t) => [t.name, t]));
  for (const t of datasets.tags(doc.id)) {
    if (!remoteTags.has(t.name) && !refusedTags.has(t.name)) {
      datasets.deleteTag(doc.id, t.name);
      result.tags.removed++;
    }
  }
  for (const t of tags) {
    const local = datasets.tag(doc.id, t.name);
    if (local?.versionId === t.versionId && local.updatedAt === t.updatedAt) continue;
    datasets.upsertTag({ datasetId: doc.id, name: t.name, versionId: t.versionId, updatedAt: t.updatedAt });
    result.tags.set++;
  }
}

function committedIds(ctx: AppContext, datasetId: string): string[] {
  return ctx.catalog.datasets.versions(datasetId, { committed: true }).map((v) => v.id);
}

function checkManifest(m: ManifestDoc, datasetId: string, key: string, blobs: Map<string, number>): string | undefined {
  if (m.datasetId !== datasetId || !key.endsWith(`/versions/${m.versionId}.json`)) {
    return `names ${m.datasetId}:${m.versionId}, not the version its key says`;
  }
  for (const f of m.files) {
    const size = blobs.get(f.sha256);
    if (size === undefined) return `file "${f.path}": blob ${f.sha256} is not in the bucket`;
    if (size !== f.size) return `file "${f.path}": size ${f.size} does not match its blob (${size} bytes)`;
  }
  return undefined;
}

async function readRemote(
  backend: StorageBackend,
  only: string | undefined,
  result: SyncResult,
): Promise<Map<string, RemoteDataset>> {
  const remote = new Map<string, RemoteDataset>();
  for await (const object of backend.list(only ? datasetPrefix(only) : DATASETS_PREFIX)) {
    const parts = object.key.slice(DATASETS_PREFIX.length).split('/');
    const [id] = parts;
    if (!id || !DATASET_ID.test(id)) continue;
    const entry = remote.get(id) ?? { manifests: [], tags: [] };
    remote.set(id, entry);
    if (parts.length === 2 && parts[1] === 'dataset.json') {
      entry.doc = await readDoc(backend, object.key, parseDatasetDoc, result);
      if (entry.doc && entry.doc.id !== id) {
        result.refused.push({ key: object.key, reason: `names dataset ${entry.doc.id}` });
        entry.doc = undefined;
      }
      entry.refused = !entry.doc;
    } else if (parts.length === 3 && parts[1] === 'versions' && parts[2]!.endsWith('.json')) {
      entry.manifests.push(object.key);
    } else if (parts.length === 3 && parts[1] === 'tags' && parts[2]!.endsWith('.json')) {
      entry.tags.push(object.key);
    }
  }
  return remote;
}

async function readDoc<T>(
  backend: StorageBackend,
  key: string,
  parse: (key: string, bytes: Buffer) => T,
  result: SyncResult,
): Promise<T | undefined> {
  try {
    return parse(key, await readObject(backend, key));
  } catch (error) {
    if (error instanceof IntegrityError) {
      result.refused.push({ key, reason: error.message.replace(`refusing ${key}: `, '') });
      return undefined;
    }
    throw error;
  }
}

/** `catalog sync`: every remote provider, or one. Refused documents fail the command at the end. */
export async function syncCatalog(ctx: AppContext, input: { storageProviderId?: string }): Promise<SyncResult[]> {
  const providers = input.storageProviderId
    ? [findProvider(ctx, input.storageProviderId)]
    : ctx.catalog.providers.list().filter((p) => p.type === 's3');
  const results: SyncResult[] = [];
  for (const provider of providers) results.push(await syncProvider(ctx, provider));
  return results;
}

export function refusedError(results: SyncResult[]): StrataError | undefined {
  const refused = results.flatMap((r) => r.refused);
  if (refused.length === 0) return undefined;
  return new IntegrityError(
    `refused ${refused.length} object(s) from the bucket: ${refused.map((r) => `${r.key} (${r.reason})`).join('; ')}`,
    'EBADRECORD',
  );
}

/**
 * Before a ref is read: on a remote provider, bring that one dataset up to date so `ds:latest`
 * means the latest in the bucket. Unknown names are left to the resolver to report.
 */
export async function refreshForRead(ctx: AppContext, refText: string, offline = false): Promise<void> {
  if (offline) return;
  const { dataset: nameOrId, selector } = parseRef(refText);
  const { datasets } = ctx.catalog;
  const dataset = DATASET_ID.test(nameOrId) ? datasets.get(nameOrId) : datasets.byName(nameOrId);
  if (!dataset) return;
  // A committed version never changes, and its id wins over any tag: the catalog's copy is the
  // bucket's, and the read needs no S3 request at all (a teammate's deletion of it reaches this
  // catalog at its next sync, as with --offline).
  if (selector !== undefined && selector !== LATEST && datasets.version(dataset.id, selector)?.committedAt) return;
  const provider = findProvider(ctx, dataset.storageProviderId);
  if (provider.type !== 's3') return;
  // The read goes on with what could be applied; what was refused is said once, on stderr.
  // (`catalog sync` and `import` fail with them instead.)
  const { refused } = await syncProvider(ctx, provider, dataset.id);
  for (const r of refused) ctx.reporter.warn(`refused ${r.key}: ${r.reason}`);
}

/**
 * The blobs of these manifests the bucket holds, with their sizes: packed (the bucket's pack
 * tables loaded first, as untrusted input: a bad one is refused in `result`) or loose.
 */
async function presentIn(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  result: SyncResult,
  manifests: readonly ManifestDoc[],
): Promise<Map<string, number>> {
  if (provider.type === 's3') {
    await checkFormat(backend);
    await loadPackTables(ctx, provider, backend, result.refused);
  }
  const packed = new Map<string, number>();
  const loose: string[] = [];
  for (const m of manifests) {
    for (const f of m.files) {
      const at = ctx.catalog.packs.locate(provider.id, f.sha256);
      if (at) packed.set(f.sha256, at.size);
      else loose.push(f.sha256);
    }
  }
  const present = await presentBlobs(backend, loose);
  for (const [sha, size] of packed) present.set(sha, size);
  return present;
}

/** Attaches an existing bucket as a provider and indexes what it holds. */
export async function importS3Provider(
  ctx: AppContext,
  input: S3ProviderInput,
): Promise<{ provider: ProviderView; sync: SyncResult }> {
  const provider = await createS3Provider(ctx, input);
  const sync = await syncProvider(ctx, findProvider(ctx, provider.id));
  const refused = refusedError([sync]);
  if (refused) throw refused;
  return { provider, sync };
}
