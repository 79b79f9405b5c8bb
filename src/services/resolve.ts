import type { AppContext } from './context.js';
import type { Dataset, Provider, Version } from '../core/model.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { LATEST, parseDatasetRef, parseRef, parseVersionRef } from '../core/refs.js';
import { DATASET_ID, PROVIDER_ID } from '../core/ids.js';

/** Looks a dataset up by id or name. */
export function findDataset(ctx: AppContext, idOrName: string): Dataset {
  parseDatasetRef(idOrName);
  const { datasets } = ctx.catalog;
  const dataset = DATASET_ID.test(idOrName) ? datasets.get(idOrName) : datasets.byName(idOrName);
  if (!dataset) {
    throw new NotFoundError(`dataset "${idOrName}" not found; see: strata datasets list`, 'ENODATASET');
  }
  return dataset;
}

export function findProvider(ctx: AppContext, idOrName: string): Provider {
  const { providers } = ctx.catalog;
  const provider = PROVIDER_ID.test(idOrName) ? providers.get(idOrName) : providers.byName(idOrName);
  if (!provider) {
    throw new NotFoundError(
      `storage provider "${idOrName}" not found; see: strata storageProviders list`,
      'ENOPROVIDER',
    );
  }
  return provider;
}

export interface Resolved {
  dataset: Dataset;
  version: Version;
}

/** Resolves DS, DS:latest, DS:VERSION or DS:TAG (a version id wins over a tag of that name). */
export function resolveRef(ctx: AppContext, text: string): Resolved {
  const ref = parseRef(text);
  const dataset = findDataset(ctx, ref.dataset);
  const { datasets } = ctx.catalog;
  if (ref.selector === undefined || ref.selector === LATEST) {
    const version = datasets.latestCommitted(dataset.id);
    if (!version) {
      throw new NotFoundError(
        `dataset ${dataset.name} (${dataset.id}) has no committed version yet; see: strata datasets versions list --id ${dataset.id}`,
        'ENOVERSION',
      );
    }
    return { dataset, version };
  }
  const version = datasets.version(dataset.id, ref.selector);
  if (version) return { dataset, version };
  const tag = datasets.tag(dataset.id, ref.selector);
  if (tag) return { dataset, version: datasets.version(dataset.id, tag.versionId)! };
  throw new NotFoundError(
    `no version or tag "${ref.selector}" in dataset ${dataset.name} (${dataset.id}); see: strata datasets versions list --id ${dataset.id}`,
    'ENOVERSION',
  );
}

/** Resolves DS:VERSION exactly: the commands that change a version take nothing looser. */
export function resolveVersionId(ctx: AppContext, text: string): Resolved {
  const ref = parseVersionRef(text);
  const dataset = findDataset(ctx, ref.dataset);
  const version = ctx.catalog.datasets.version(dataset.id, ref.selector);
  if (!version) {
    throw new NotFoundError(
      `no version "${ref.selector}" in dataset ${dataset.name} (${dataset.id}); see: strata datasets versions list --id ${dataset.id}`,
      'ENOVERSION',
    );
  }
  return { dataset, version };
}

/** Resolves DS:VERSION and insists it is still open for changes. */
export function resolveUncommitted(ctx: AppContext, text: string): Resolved {
  const resolved = resolveVersionId(ctx, text);
  if (resolved.version.committedAt) throw committedError(resolved);
  return resolved;
}

export function committedError({ dataset, version }: Resolved): ConflictError {
  return new ConflictError(
    `version ${dataset.id}:${version.id} is committed and cannot change; create a new version with: strata datasets versions create --id ${dataset.id}`,
    'ECOMMITTED',
  );
}
