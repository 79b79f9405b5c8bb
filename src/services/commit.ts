import type { AppContext } from './context.js';
import type { FileEntry, Provenance, Provider, Version } from '../core/model.js';
import { ConflictError, IntegrityError, PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { readObject, type StorageBackend } from '../storage/backend.js';
import { manifestKey } from '../storage/keys.js';
import { manifestDoc, parseManifestDoc } from '../storage/records.js';
import { withDocFile } from '../storage/doc-file.js';
import { FILES_PER_BATCH } from '../core/file-batches.js';
import { checkPresence } from './presence.js';
import { removeDraft, writeDraft } from './drafts.js';
import { producerProvenance } from './runs.js';
import { passGcGate } from './gc-state.js';
import { claimCommit } from './version-claims.js';
import { findProvider, resolveVersionId, type Resolved } from './resolve.js';
import { viewVersion, type VersionView } from './versions.js';

export interface CommitResult extends VersionView {
  /** another commit (or an earlier run of this one) had committed it: nothing was done */
  alreadyCommitted: boolean;
}

/**
 * Commits a version: claims it (no put may enter, none may be running), names every blob it holds
 * in its draft, checks each is in the provider (invariant 2), writes the manifest to the bucket
 * once (If-None-Match), then marks it committed in the catalog with the seal of its file list.
 * A version whose last put did not finish is refused unless allowIncomplete.
 */
export async function commitVersion(
  ctx: AppContext,
  ref: string,
  options: { allowIncomplete?: boolean; provenance?: Provenance } = {},
): Promise<CommitResult> {
  const resolved = resolveVersionId(ctx, ref);
  const { dataset } = resolved;
  const provider = findProvider(ctx, dataset.storageProviderId);
  const backend = await ctx.backend(provider);
  const claim = await claimCommit(ctx, resolved, options.allowIncomplete ?? false);
  if ('committed' in claim) {
    // A commit killed after its catalog update left the draft behind: finish that part.
    await removeDraft(ctx, dataset, claim.committed.id);
    return { ...viewVersion(ctx, claim.committed), alreadyCommitted: true };
  }
  const { version } = claim;
  try {
    faultPoint('commit:after-claim');
    assertTree(ctx, resolved);
    // Named in the draft, the blobs are kept by any gc that starts from now; one that started
    // before may have missed them, so the check waits for it to end.
    await writeDraft(ctx, dataset, version.id);
    await passGcGate(ctx, provider, backend);
    await checkBlobs(ctx, provider, backend, resolved);
    const { committedAt, provenance } = await writeManifest(
      ctx,
      backend,
      version,
      options.provenance ?? producerProvenance(ctx, dataset.id, version.id),
    );
    faultPoint('commit:after-manifest');
    const seal = ctx.catalog.files.seal(dataset.id, version.id);
    ctx.catalog.transaction(() => {
      ctx.catalog.datasets.markCommitted(dataset.id, version.id, committedAt, seal);
      if (provenance) ctx.catalog.datasets.setProvenance(dataset.id, version.id, provenance);
      faultPoint('commit:in-transaction');
    });
  } catch (error) {
    claim.release();
    throw error;
  }
  faultPoint('commit:before-draft-delete');
  await removeDraft(ctx, dataset, version.id);
  return { ...viewVersion(ctx, ctx.catalog.datasets.version(dataset.id, version.id)!), alreadyCommitted: false };
}

/**
 * A version is a tree: separate puts (a file "x", then files under "x/") can make a path a file
 * and a folder at once, which no get could write. Such a version is refused here, once no put can
 * still change it, before anything is written.
 */
function assertTree(ctx: AppContext, { dataset, version }: Resolved): void {
  const clash = ctx.catalog.files.firstClash(dataset.id, version.id);
  if (!clash) return;
  const ref = `${dataset.id}:${version.id}`;
  throw new ConflictError(
    `cannot commit ${ref}: "${clash.file}" is a file and also a folder ("${clash.below}"); delete one with: strata datasets files delete --id ${ref} --path ${clash.file}`,
    'EPATHCLASH',
  );
}

/**
 * Every blob of the version is in the provider, checked a page of files at a time. What is not
 * corrects the catalog's belief (it thought the provider held them), so that putting the files
 * again uploads them.
 */
async function checkBlobs(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  { dataset, version }: Resolved,
): Promise<void> {
  let [missing, first] = [0, ''];
  for (const page of ctx.catalog.files.pages(dataset.id, version.id, FILES_PER_BATCH)) {
    const lacking = await checkPresence(ctx, provider, backend, page);
    if (missing === 0 && lacking.length > 0) first = lacking[0]!.path;
    missing += lacking.length;
  }
  if (missing > 0) {
    const ref = `${dataset.id}:${version.id}`;
    throw new IntegrityError(
      `cannot commit ${ref}: ${missing} file(s) have no blob in the storage provider (first: ${first}); put them again with: strata datasets files put --id ${ref}`,
      'EMISSINGBLOB',
    );
  }
}

/**
 * Writes the manifest once, from the catalog's rows as they are read (doc-file.ts); one already
 * there from an interrupted commit of the same files is adopted.
 */
async function writeManifest(
  ctx: AppContext,
  backend: StorageBackend,
  version: Version,
  provenance: Provenance | undefined,
): Promise<{ committedAt: string; provenance?: Provenance }> {
  const committedAt = new Date().toISOString();
  const key = manifestKey(version.datasetId, version.id);
  const rows = (): Iterable<FileEntry> => ctx.catalog.files.iterate(version.datasetId, version.id);
  try {
    const doc = manifestDoc({ ...version, committedAt }, rows(), provenance);
    await withDocFile(ctx.paths.tmp, doc, (body) =>
      backend.put(key, body, { ifNoneMatch: true, contentType: 'application/json' }),
    );
    return { committedAt, provenance };
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const existing = parseManifestDoc(key, await readObject(backend, key));
    if (!sameFiles(existing.files, rows())) {
      throw new ConflictError(
        `${key} already holds a different manifest; this version cannot be committed`,
        'ECOMMITTED',
      );
    }
    return { committedAt: existing.committedAt, provenance: existing.provenance };
  }
}

/** Whether a manifest's files are the catalog's rows, field for field, in order. */
function sameFiles(listed: readonly FileEntry[], rows: Iterable<FileEntry>): boolean {
  let i = 0;
  for (const row of rows) {
    const f = listed[i++];
    if (!f || f.path !== row.path || f.size !== row.size || f.sha256 !== row.sha256) return false;
    if (f.mode !== row.mode || f.mtimeMs !== row.mtimeMs) return false;
  }
  return i === listed.length;
}
