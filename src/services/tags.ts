import type { AppContext } from './context.js';
import type { Dataset, Tag } from '../core/model.js';
import { ConflictError, NotFoundError, PreconditionFailedError, UsageError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { parseRef, validateTagName } from '../core/refs.js';
import { readWithEtag, type StorageBackend } from '../storage/backend.js';
import { manifestKey, tagKey } from '../storage/keys.js';
import { encodeDoc, parseTagDoc, tagDoc, type TagDoc } from '../storage/records.js';
import { findDataset, findProvider, resolveRef } from './resolve.js';
import { refreshForRead } from './sync.js';

export interface TagView extends Tag {
  ref: string;
}

const view = (t: Tag): TagView => ({ ...t, ref: `${t.datasetId}:${t.versionId}` });

/**
 * Creates or moves a tag onto a committed version, as a compare-and-swap against what this
 * catalog last saw of the tag (from a sync or its own last write): when the tag object in the
 * bucket is not that one, someone else moved it since, and the move is refused with a conflict
 * naming where it now points (the catalog then learns it, so setting it again works). The write
 * itself is conditional (If-None-Match when new, If-Match on the ETag just read), so two people
 * moving one tag at the same moment cannot both win, and it is read back in case the server
 * ignores conditions.
 */
export async function setTag(ctx: AppContext, input: { id: string; name: string }): Promise<TagView> {
  validateTagName(input.name);
  // Any ref names the version (DS:VERSION, DS:TAG, DS:latest, DS), as wherever one is read.
  await refreshForRead(ctx, input.id);
  const { dataset, version } = resolveRef(ctx, input.id);
  if (!version.committedAt) {
    throw new ConflictError(
      `version ${dataset.id}:${version.id} is not committed; only committed versions can be tagged (strata datasets versions commit --id ${dataset.id}:${version.id})`,
      'EUNCOMMITTED',
    );
  }
  if (ctx.catalog.datasets.version(dataset.id, input.name)) {
    throw new ConflictError(`"${input.name}" is a version id of ${dataset.name}; pick another tag name`, 'ENAMETAKEN');
  }
  const tag: Tag = {
    datasetId: dataset.id,
    name: input.name,
    versionId: version.id,
    updatedAt: new Date().toISOString(),
  };
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  // A tag may only point at a version the bucket has: someone may have deleted it since our sync.
  if (!(await backend.head(manifestKey(dataset.id, version.id)))) {
    throw new NotFoundError(
      `version ${dataset.id}:${version.id} is no longer in the bucket (deleted elsewhere?); run strata catalog sync`,
      'ENOVERSION',
    );
  }
  const key = tagKey(dataset.id, tag.name);
  const seen = ctx.catalog.datasets.tag(dataset.id, tag.name);
  const current = await readTag(backend, key);
  if (current?.doc && !(seen && sameTag(current.doc, seen))) {
    // Moved (or created) by someone else since this catalog last looked.
    learn(ctx, current.doc);
    if (current.doc.versionId === tag.versionId) return view(ctx.catalog.datasets.tag(dataset.id, tag.name) ?? tag);
    throw moved(dataset, tag.name, current.doc.versionId);
  }
  try {
    await backend.put(key, encodeDoc(tagDoc(tag)), {
      ...(current ? { ifMatch: current.etag } : { ifNoneMatch: true }),
      contentType: 'application/json',
    });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const winner = await readTag(backend, key).catch(() => undefined);
    if (winner?.doc) learn(ctx, winner.doc);
    throw moved(dataset, tag.name, winner?.doc?.versionId);
  }
  faultPoint('tag:after-put');
  // Read back: a server that ignores conditional writes lets the last writer win silently.
  const stored = await readTag(backend, key);
  if (!stored?.doc || !sameTag(stored.doc, tag)) {
    if (stored?.doc) learn(ctx, stored.doc);
    throw moved(dataset, tag.name, stored?.doc?.versionId);
  }
  try {
    ctx.catalog.transaction(() => {
      ctx.catalog.datasets.upsertTag(tag);
      faultPoint('tag:in-transaction');
    });
  } catch (error) {
    // The catalog refused (locked, full): the bucket takes the move back, so both stay as they were.
    const undo = current?.doc
      ? backend.put(key, encodeDoc(current.doc), { ifMatch: stored.etag, contentType: 'application/json' })
      : backend.delete([key]);
    await undo.catch(() => undefined);
    throw error;
  }
  return view(tag);
}

const sameTag = (a: Pick<Tag, 'versionId' | 'updatedAt'>, b: Pick<Tag, 'versionId' | 'updatedAt'>): boolean =>
  a.versionId === b.versionId && a.updatedAt === b.updatedAt;

/** The tag object in the bucket: its ETag, and its document unless that does not parse. */
async function readTag(
  backend: StorageBackend,
  key: string,
): Promise<{ etag: string; doc: TagDoc | undefined } | undefined> {
  const found = await readWithEtag(backend, key);
  if (!found) return undefined;
  try {
    return { etag: found.etag, doc: parseTagDoc(key, found.bytes) };
  } catch {
    return { etag: found.etag, doc: undefined };
  }
}

/** Where the bucket says a tag points, into this catalog, when the catalog has that version. */
function learn(ctx: AppContext, doc: TagDoc): void {
  const { datasets } = ctx.catalog;
  if (!datasets.version(doc.datasetId, doc.versionId)?.committedAt) return;
  datasets.upsertTag({ datasetId: doc.datasetId, name: doc.name, versionId: doc.versionId, updatedAt: doc.updatedAt });
}

function moved(dataset: Dataset, name: string, winner: string | undefined): ConflictError {
  const where = winner ? `${dataset.id}:${winner}` : 'another version';
  return new ConflictError(
    `tag "${name}" of ${dataset.name} was moved by someone else to ${where}; check and set it again if you still mean to`,
    'ETAGMOVED',
  );
}

export function listTags(ctx: AppContext, input: { id: string }): TagView[] {
  return ctx.catalog.datasets.tags(findDataset(ctx, input.id).id).map(view);
}

export async function deleteTag(ctx: AppContext, input: { id: string }): Promise<TagView> {
  const ref = parseRef(input.id);
  if (ref.selector === undefined) throw new UsageError(`"${input.id}" names no tag: expected DATASET:TAG`, 'EREF');
  const dataset = findDataset(ctx, ref.dataset);
  const tag = ctx.catalog.datasets.tag(dataset.id, ref.selector);
  if (!tag) throw new NotFoundError(`no tag "${ref.selector}" in dataset ${dataset.name} (${dataset.id})`, 'ENOTAG');
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  await backend.delete([tagKey(dataset.id, tag.name)]);
  ctx.catalog.datasets.deleteTag(dataset.id, tag.name);
  return view(tag);
}
