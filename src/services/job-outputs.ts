import { mkdir } from 'node:fs/promises';
import { LOCAL_PROVIDER_NAME, type AppContext } from './context.js';
import type { Dataset, Provenance } from '../core/model.js';
import { syncProvider } from './sync.js';
import { NotFoundError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import type { OutputSpec } from '../jobs/spec.js';
import { materialize } from '../cache/materialize.js';
import { openCache } from './cache.js';
import { createDataset } from './datasets.js';
import { createVersion } from './versions.js';
import { commitVersion } from './commit.js';
import { setTag } from './tags.js';
import { mirrorDirectory } from './mirror.js';
import { removeDraft } from './drafts.js';
import { transferConcurrency } from './concurrency.js';
import { findDataset, findProvider, resolveUncommitted, type Resolved } from './resolve.js';
import { providerReads } from './packs.js';

export interface JobOutputResult {
  name: string;
  ref: string;
  committed: boolean;
  tag?: string;
  files: number;
}

export interface PreparedOutput {
  spec: OutputSpec;
  resolved: Resolved;
  dir: string;
  warned: Set<string>;
  /** the job's log, kept as a version: not an output the job writes or resumes */
  isLog: boolean;
}

/** Checked before anything runs: an output's dataset exists, or the provider to create it on does. */
export function checkOutput(ctx: AppContext, spec: OutputSpec): void {
  try {
    findDataset(ctx, spec.dataset);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    if (spec.storageProviderId !== undefined) findProvider(ctx, spec.storageProviderId);
  }
}

/**
 * The output's dataset: from the catalog, or — on a remote provider, where a teammate or an
 * earlier pod may have made it — from the bucket, before concluding that it must be created.
 */
async function findOrSync(ctx: AppContext, spec: OutputSpec): Promise<Dataset> {
  try {
    return findDataset(ctx, spec.dataset);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    const provider = findProvider(ctx, spec.storageProviderId ?? LOCAL_PROVIDER_NAME);
    if (provider.type !== 's3') throw error;
    await syncProvider(ctx, provider);
    return findDataset(ctx, spec.dataset);
  }
}

/** The dataset an output goes to: found (here or in the bucket) or created, and the run says so. */
export async function outputDataset(ctx: AppContext, spec: OutputSpec): Promise<Dataset> {
  try {
    return await findOrSync(ctx, spec);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    const created = await createDataset(ctx, {
      name: spec.dataset,
      storageProviderId: spec.storageProviderId,
      description: `outputs of job runs`,
    });
    ctx.reporter.info(
      `output ${spec.name}: created dataset ${created.name} (${created.id}) on storage provider ${created.storageProviderName}`,
    );
    return findDataset(ctx, created.id);
  }
}

/**
 * Opens the uncommitted version an output is synced into (creating its dataset when there is
 * none, and saying so) and its directory, empty or holding the files of `from` (a resume).
 */
export async function prepareOutput(
  ctx: AppContext,
  runId: string,
  dir: string,
  spec: OutputSpec,
  options: { from?: string; isLog?: boolean; cacheDir?: string; signal?: AbortSignal },
): Promise<PreparedOutput> {
  const datasetId = (await outputDataset(ctx, spec)).id;
  const { from } = options;
  const created = await createVersion(ctx, { id: datasetId, message: `output ${spec.name} of run ${runId}`, from });
  const resolved = resolveUncommitted(ctx, created.ref);
  await mkdir(dir, { recursive: true });
  if (from) {
    const provider = findProvider(ctx, resolved.dataset.storageProviderId);
    await materialize({
      cache: openCache(ctx, options.cacheDir),
      files: ctx.catalog.files.list(resolved.dataset.id, resolved.version.id),
      target: dir,
      link: 'auto',
      ...providerReads(ctx, provider),
      concurrency: transferConcurrency(ctx, undefined, 'get'),
      signal: options.signal,
    });
    ctx.reporter.info(`output ${spec.name}: resumed from ${from} (${created.fileCount} files)`);
  }
  ctx.catalog.runs.addOutput(runId, {
    name: spec.name,
    datasetId: resolved.dataset.id,
    versionId: resolved.version.id,
    committed: false,
  });
  return { spec, resolved, dir, warned: new Set(), isLog: options.isLog === true };
}

/** A sync while the job runs: new and changed files in, deleted ones out (with deleteSync). */
export async function syncOutput(ctx: AppContext, o: PreparedOutput): Promise<void> {
  await mirrorDirectory(ctx, o.resolved, o.dir, { deleteMissing: o.spec.deleteSync, warned: o.warned });
  faultPoint('job:after-sync');
}

/**
 * After the job: a final sync makes the version exactly what the directory holds now; when the
 * job succeeded it is committed (and tagged), else it stays uncommitted for a commit or a resume.
 */
export async function finishOutput(
  ctx: AppContext,
  runId: string,
  o: PreparedOutput,
  succeeded: boolean,
  /** where the version comes from, written into its manifest when it is committed */
  provenance?: Provenance,
): Promise<JobOutputResult> {
  await mirrorDirectory(ctx, o.resolved, o.dir, { deleteMissing: true, warned: o.warned });
  const ref = `${o.resolved.dataset.id}:${o.resolved.version.id}`;
  const files = ctx.catalog.files.summary(o.resolved.dataset.id, o.resolved.version.id).fileCount;
  if (!succeeded) return { name: o.spec.name, ref, committed: false, files };
  await commitVersion(ctx, ref, { provenance });
  await removeDraft(ctx, o.resolved.dataset, o.resolved.version.id);
  ctx.catalog.runs.addOutput(runId, {
    name: o.spec.name,
    datasetId: o.resolved.dataset.id,
    versionId: o.resolved.version.id,
    committed: true,
  });
  if (o.spec.tag) {
    // Someone may have moved the tag since this catalog last looked: learn where it is first.
    const provider = findProvider(ctx, o.resolved.dataset.storageProviderId);
    if (provider.type === 's3') await syncProvider(ctx, provider, o.resolved.dataset.id);
    await setTag(ctx, { id: ref, name: o.spec.tag });
  }
  return { name: o.spec.name, ref, committed: true, files, ...(o.spec.tag ? { tag: o.spec.tag } : {}) };
}

/** What a person can do with an output of a failed job: commit it as it is, or resume from it. */
export function failureHint(result: JobOutputResult, prepared: PreparedOutput): string {
  const commit = `commit it with: strata datasets versions commit --id ${result.ref}`;
  if (prepared.isLog) return `the log: uncommitted version ${result.ref} holds it; ${commit}`;
  const resume = `strata jobs exec --output ${result.name}=${prepared.resolved.dataset.name} --resume-from ${result.name}=${result.ref} … -- COMMAND`;
  return `output ${result.name}: uncommitted version ${result.ref} holds what was synced (${result.files} files); ${commit}; or resume from it with: ${resume}`;
}
