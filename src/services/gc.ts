import type { AppContext } from './context.js';
import { parseDuration } from '../core/config.js';
import { IntegrityError, UsageError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { readIfPresent, type ObjectInfo, type StorageBackend } from '../storage/backend.js';
import { BLOBS_PREFIX, DATASETS_PREFIX, manifestKey, shaOfBlobKey, versionOfKey } from '../storage/keys.js';
import { scanFileShas } from '../storage/doc-shas.js';
import { parseDraftDoc, parseManifestDoc, type DraftDoc, type ManifestDoc } from '../storage/records.js';
import { findProvider } from './resolve.js';
import { GcClaim } from './gc-state.js';
import { collectPacks, type PackGcResult } from './gc-packs.js';
import { ShaSet } from '../catalog/sha-set.js';

/**
 * The moment gc takes for now: STRATA_TEST_NOW (ISO 8601) lets tests and the bench run a gc "after
 * the grace period has passed" without waiting for it.
 */
const gcNow = (ctx: AppContext): number => {
  const said = ctx.env.STRATA_TEST_NOW;
  return said ? Date.parse(said) : Date.now();
};

/** The least grace that keeps every blob a writer of an older Strata has uploaded and not yet named. */
export const MIN_GRACE = '1h';
export const DEFAULT_GRACE = '24h';
/** A draft not rewritten for this long belongs to a version nobody will commit: its blobs are not kept. */
export const DEFAULT_DRAFT_EXPIRY = '30d';
const DELETE_BATCH = 1000;

export interface GcResult {
  providerId: string;
  dryRun: boolean;
  graceSeconds: number;
  manifests: number;
  /** drafts of uncommitted versions whose blobs were kept */
  drafts: number;
  referenced: number;
  /** unreferenced and older than the grace period: removed (or, dry run, would be) */
  removed: { sha256: string; size: number }[];
  removedBytes: number;
  /** unreferenced but younger than the grace period: perhaps an upload in flight elsewhere */
  keptYoung: number;
  /** drafts removed (or, dry run, that would be): of versions since committed, or expired */
  staleDrafts: string[];
  /** packs removed and repacked (docs/packs.md); their bytes are in removedBytes too */
  packs: PackGcResult;
}

/**
 * Removes blobs that no committed manifest and no live draft (uncommitted version) in the bucket
 * references and that are older than the grace period. Reads the bucket, not the catalog: other
 * machines' versions count too. It announces itself first (gc-state.ts), so that puts and commits
 * that overlap it check their blobs again. A manifest or draft that cannot be read stops the
 * collection: deleting on partial knowledge loses data.
 */
export async function collectGarbage(
  ctx: AppContext,
  input: { storageProviderId: string; dryRun?: boolean; grace?: string; draftExpiry?: string },
): Promise<GcResult> {
  const provider = findProvider(ctx, input.storageProviderId);
  const backend = await ctx.backend(provider);
  const graceMs = parseDuration(input.grace ?? DEFAULT_GRACE);
  const expiryMs = parseDuration(input.draftExpiry ?? DEFAULT_DRAFT_EXPIRY);
  if (expiryMs < parseDuration(DEFAULT_GRACE)) {
    throw new UsageError(`--draft-expiry must be at least ${DEFAULT_GRACE}: open versions need their drafts`);
  }
  if (graceMs < parseDuration(MIN_GRACE)) {
    ctx.reporter.warn(
      `a grace below ${MIN_GRACE} can remove blobs that a Strata without gc/state.json (before this release) is uploading elsewhere; its commit then says so and its put must run again`,
    );
  }
  const dryRun = input.dryRun ?? false;
  const claim = dryRun ? undefined : await GcClaim.take(backend);
  let removing = false;
  const now = gcNow(ctx);
  const refs: References = { blobs: new ShaSet(), manifests: 0, drafts: 0, staleDrafts: [] };
  try {
    await readReferences(backend, now - expiryMs, refs);
    const result: GcResult = {
      providerId: provider.id,
      dryRun,
      graceSeconds: graceMs / 1000,
      manifests: refs.manifests,
      drafts: refs.drafts,
      referenced: refs.blobs.size,
      removed: [],
      removedBytes: 0,
      keptYoung: 0,
      staleDrafts: refs.staleDrafts,
      packs: { removed: 0, removedBytes: 0, repacked: 0, rewrittenBytes: 0, refused: [] },
    };
    const cutoff = now - graceMs;
    const doomed: string[] = [];
    for await (const object of backend.list(BLOBS_PREFIX)) {
      const sha = shaOfBlobKey(object.key);
      if (!sha || refs.blobs.has(sha)) continue;
      if (object.lastModified.getTime() > cutoff) {
        result.keptYoung++;
        continue;
      }
      result.removed.push({ sha256: sha, size: object.size });
      result.removedBytes += object.size;
      doomed.push(object.key);
    }
    const packs = await collectPacks(ctx, provider, backend, refs.blobs, cutoff, dryRun);
    result.packs = packs.result;
    result.removedBytes += packs.result.removedBytes;
    for (const r of packs.result.refused) ctx.reporter.warn(`refused ${r.key}: ${r.reason}; its pack is kept`);
    if (claim) {
      doomed.push(...packs.doomed, ...refs.staleDrafts);
      for (let i = 0; i < doomed.length; i += DELETE_BATCH) {
        claim.assertHeld();
        removing = true;
        await backend.delete(doomed.slice(i, i + DELETE_BATCH));
        faultPoint('gc:after-delete-batch');
      }
      ctx.catalog.transaction(() => {
        ctx.catalog.files.forgetProviderBlobs(provider.id);
        ctx.catalog.providers.setGcGeneration(provider.id, claim.generation);
      });
    }
    return result;
  } finally {
    refs.blobs.close();
    await claim?.release(removing);
  }
}

interface References {
  /** every blob a manifest or live draft names: on disk, not in memory (sha-set.ts) */
  blobs: ShaSet;
  manifests: number;
  drafts: number;
  /** drafts of versions that have a manifest (a commit killed before it removed its draft), or expired */
  staleDrafts: string[];
}

/**
 * Reads what the bucket's manifests and live drafts reference into `refs`, one document at a
 * time: memory holds one document of at most WHOLE_DOC_BYTES (a larger one streams), not the
 * repository.
 */
async function readReferences(backend: StorageBackend, expiredBefore: number, refs: References): Promise<void> {
  const manifests = new Set<string>();
  const drafts: ObjectInfo[] = [];
  const add = (shas: string[]): void => refs.blobs.addAll(shas);
  for await (const object of backend.list(DATASETS_PREFIX)) {
    const of = versionOfKey(object.key);
    if (of?.kind === 'manifest') {
      manifests.add(object.key);
      await addFiles(backend, object, 'manifest', add);
      refs.manifests++;
    } else if (of?.kind === 'draft') drafts.push(object);
  }
  for (const draft of drafts) {
    const { datasetId, versionId } = versionOfKey(draft.key)!;
    const manifest = manifestKey(datasetId, versionId);
    if (manifests.has(manifest) || draft.lastModified.getTime() < expiredBefore) {
      refs.staleDrafts.push(draft.key);
      continue;
    }
    if (await addFiles(backend, draft, 'draft', add)) refs.drafts++;
    else {
      // Gone since the listing: committed meanwhile (the manifest is written before the draft goes).
      const committed = await backend.head(manifest);
      if (committed && (await addFiles(backend, committed, 'manifest', add))) refs.manifests++;
    }
  }
}

/**
 * Documents larger than this are scanned for the sha256s their files name as they stream in
 * (doc-shas.ts), not parsed whole: a manifest of a million files is ~150 MB of JSON. A smaller
 * one is parsed and checked whole, paths and all.
 */
const WHOLE_DOC_BYTES = 8 * 1024 * 1024;

/** Adds the sha256s of a manifest's or a draft's files; false when the object is gone. */
async function addFiles(
  backend: StorageBackend,
  object: ObjectInfo,
  kind: 'manifest' | 'draft',
  add: (shas: string[]) => void,
): Promise<boolean> {
  const { key } = object;
  try {
    if (object.size > WHOLE_DOC_BYTES) return await scanFileShas(backend, key, FORMATS[kind], add);
    const bytes = await readIfPresent(backend, key);
    if (bytes === undefined) return false;
    add((kind === 'manifest' ? parseManifestDoc(key, bytes) : parseDraftDoc(key, bytes)).files.map((f) => f.sha256));
    return true;
  } catch (error) {
    if (error instanceof IntegrityError) {
      throw new IntegrityError(`${error.message}; garbage collection stopped, nothing was removed`, 'EBADRECORD');
    }
    throw error;
  }
}

const FORMATS: { manifest: ManifestDoc['format']; draft: DraftDoc['format'] } = {
  manifest: 'strata.manifest/1',
  draft: 'strata.draft/1',
};
