import type { AppContext } from './context.js';
import type { Tag } from '../core/model.js';
import { ConflictError, NotFoundError, PreconditionFailedError, UsageError } from '../core/errors.js';
import { parseRef, validateTagName } from '../core/refs.js';
import { readAll } from '../storage/backend.js';
import { manifestKey, tagKey } from '../storage/keys.js';
import { encodeDoc, parseTagDoc, tagDoc } from '../storage/records.js';
import { findDataset, findProvider, resolveVersionId } from './resolve.js';

export interface TagView extends Tag {
  ref: string;
}

const view = (t: Tag): TagView => ({ ...t, ref: `${t.datasetId}:${t.versionId}` });

/**
 * Creates or moves a tag onto a committed version. The tag object in the bucket is written
 * conditionally (If-None-Match when new, If-Match on the ETag read just before when moving), so
 * two people moving one tag at once cannot silently overwrite each other: the loser gets a
 * conflict naming where the tag now points.
 */
export async function setTag(ctx: AppContext, input: { id: string; name: string }): Promise<TagView> {
  validateTagName(input.name);
  const { dataset, version } = resolveVersionId(ctx, input.id);
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
  const current = await backend.head(key);
  try {
    await backend.put(key, encodeDoc(tagDoc(tag)), {
      ...(current ? { ifMatch: current.etag } : { ifNoneMatch: true }),
      contentType: 'application/json',
    });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const winner = await backend
      .get(key)
      .then(readAll)
      .then((bytes) => parseTagDoc(key, bytes).versionId)
      .catch(() => 'another version');
    throw new ConflictError(
      `tag "${tag.name}" of ${dataset.name} was just moved by someone else to ${dataset.id}:${winner}; check and set it again if you still mean to`,
      'ETAGMOVED',
    );
  }
  ctx.catalog.datasets.upsertTag(tag);
  return view(tag);
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
