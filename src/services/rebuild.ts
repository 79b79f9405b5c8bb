import { existsSync, renameSync } from 'node:fs';
import type { AppContext } from './context.js';
import type { Provider } from '../core/model.js';
import { ConflictError, IntegrityError } from '../core/errors.js';
import { Catalog } from '../catalog/db.js';
import { readIfPresent } from '../storage/backend.js';
import { DATASETS_PREFIX, versionOfKey } from '../storage/keys.js';
import { parseDraftDoc } from '../storage/records.js';
import { assertSealed } from './sealed.js';
import { syncProvider, type SyncResult } from './sync.js';

export interface RebuildResult {
  catalog: string;
  /** where the old catalog was kept (with its -wal and -shm), or null when there was none */
  keptAside: string | null;
  /** storage providers read back from the old catalog (credentials included) */
  providers: { name: string; type: string }[];
  sync: SyncResult[];
  /** uncommitted versions opened again from their drafts in the buckets */
  reopened: string[];
  /** what a rebuild cannot bring back */
  notRestored: string[];
}

const NOT_RESTORED = [
  'uncommitted versions that had no draft in a bucket yet',
  'job runs and their records (jobs list, provenance of versions made here)',
  'the hash cache (the next put of a tree reads each file once)',
];

/**
 * Rebuilds this machine's catalog from the buckets: the damaged file is kept aside, untouched;
 * the storage providers it still has readable are carried over (with their credentials), every
 * one is synced (datasets, committed versions, tags: the bucket is the record), and the
 * uncommitted versions this catalog had drafted are opened again.
 */
export async function rebuildCatalog(ctx: AppContext, input: { force?: boolean }): Promise<RebuildResult> {
  const path = ctx.paths.catalog;
  if (!input.force && existsSync(path) && looksSound(ctx)) {
    throw new ConflictError(
      `the catalog ${path} passes its checks (SQLite's integrity check, every committed version's seal); rebuild it anyway with --force`,
      'ECATALOGSOUND',
    );
  }
  ctx.close();
  const keptAside = existsSync(path) ? `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}` : null;
  if (keptAside) {
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(path + suffix)) renameSync(path + suffix, keptAside + suffix);
  }
  const salvaged = keptAside ? Catalog.salvageProviders(keptAside) : [];
  const fresh = Catalog.open(path);
  try {
    fresh.transaction(() => salvaged.forEach((p) => fresh.providers.insert(p)));
  } finally {
    fresh.close();
  }
  const result: RebuildResult = {
    catalog: path,
    keptAside,
    providers: salvaged.map((p) => ({ name: p.name, type: p.type })),
    sync: [],
    reopened: [],
    notRestored: [
      ...NOT_RESTORED,
      ...(keptAside && salvaged.length === 0
        ? [
            'storage providers: none could be read from the old catalog; add them again with: strata storageProviders import s3 …',
          ]
        : []),
    ],
  };
  for (const provider of ctx.catalog.providers.list()) {
    result.sync.push(await syncProvider(ctx, provider));
    result.reopened.push(...(await reopenDrafts(ctx, provider)));
  }
  return result;
}

/** SQLite finds no fault in the file and every committed version matches its seal. */
function looksSound(ctx: AppContext): boolean {
  try {
    if (ctx.catalog.integrityCheck().join() !== 'ok') return false;
    for (const dataset of ctx.catalog.datasets.list()) {
      for (const version of ctx.catalog.datasets.versions(dataset.id, { committed: true })) assertSealed(ctx, version);
    }
    return true;
  } catch {
    return false;
  }
}

/** The uncommitted versions this catalog (host and STRATA_HOME) had drafted in the provider's bucket. */
async function reopenDrafts(ctx: AppContext, provider: Provider): Promise<string[]> {
  const backend = await ctx.backend(provider);
  const { datasets, files } = ctx.catalog;
  const reopened: string[] = [];
  for await (const object of backend.list(DATASETS_PREFIX)) {
    const of = versionOfKey(object.key);
    if (of?.kind !== 'draft' || !datasets.get(of.datasetId) || datasets.version(of.datasetId, of.versionId)) continue;
    const bytes = await readIfPresent(backend, object.key);
    let draft;
    try {
      draft = bytes && parseDraftDoc(object.key, bytes);
    } catch (error) {
      if (error instanceof IntegrityError) continue;
      throw error;
    }
    if (!draft) continue;
    if (draft.owner !== ctx.owner || draft.datasetId !== of.datasetId || draft.versionId !== of.versionId) continue;
    ctx.catalog.transaction(() => {
      datasets.insertVersion({
        datasetId: draft.datasetId,
        id: draft.versionId,
        message: draft.message ?? '',
        createdAt: draft.createdAt ?? draft.updatedAt,
        committedAt: null,
        // A put may have been running when the catalog broke: what it stored after its last draft is unknown.
        incomplete: 'reopened from its draft by catalog rebuild; put its files again to be sure it is whole',
      });
      files.upsert(draft.datasetId, draft.versionId, draft.files);
    });
    reopened.push(`${draft.datasetId}:${draft.versionId}`);
  }
  return reopened;
}
