import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from './context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { FINAL_STATUSES, type Provider, type Run, type RunStatus } from '../core/model.js';
import { scancel, slurmStates, type SlurmJobState } from '../jobs/slurm.js';
import { draftKey } from '../storage/keys.js';
import { readIfPresent } from '../storage/backend.js';
import { parseDraftDoc } from '../storage/records.js';
import { RUN_ID, type RunDoc } from '../storage/run-doc.js';
import { findProvider } from './resolve.js';
import { syncProvider } from './sync.js';
import { readRunDoc, writeRunDoc } from './run-records.js';
import { listRuns, runDetails, type RunDetails } from './runs.js';
import { versionDetails } from './versions.js';
import { submitSpec, type SlurmSubmitInput, type SlurmSubmitResult } from './slurm-submit.js';

const isFinal = (s: RunStatus): boolean => FINAL_STATUSES.includes(s);

/**
 * Brings this catalog's Slurm runs up to date from their records in the bucket and from Slurm
 * (squeue, scontrol; accounting may be off). A run is lost when Slurm no longer knows its job and
 * no final record exists. Dependants of a run that did not succeed are cancelled (Slurm would
 * leave them pending) and marked so.
 */
export async function refreshSlurmRuns(ctx: AppContext, only?: readonly string[]): Promise<void> {
  const open = ctx.catalog.runs
    .list()
    .filter((r) => r.executor === 'slurm' && !isFinal(r.status) && (!only || only.includes(r.id)));
  if (open.length === 0) return;
  // A teammate's machine may have no Slurm commands, or the controller may be down: the records
  // alone then say what they can (and no run is called lost for it).
  const states = await slurmStates(open.map((r) => r.slurmJobId).filter((id) => id !== null)).catch(() => undefined);
  for (const run of open) {
    const provider = findProvider(ctx, run.storageProviderId!);
    const doc = await readRunDoc(ctx, provider, run.id).catch(() => undefined);
    const slurm = run.slurmJobId === null ? undefined : states?.get(run.slurmJobId);
    const status = states ? decide(doc, slurm) : (doc?.status ?? run.status);
    if (doc) await importRecord(ctx, run, doc);
    if (status === run.status) continue;
    const exitCode = doc && isFinal(doc.status) ? doc.exitCode : (slurm?.exitCode ?? null);
    const endedAt = isFinal(status) ? (doc?.endedAt ?? new Date().toISOString()) : null;
    ctx.catalog.runs.update(run.id, { status, exitCode, endedAt, ...(doc?.host ? { host: doc.host } : {}) });
    // Teammates read the record: one Slurm alone knew the end of should say it too.
    if (isFinal(status) && (!doc || !isFinal(doc.status)))
      await writeRunDoc(ctx, provider, { id: run.id, job: run.job, command: run.command, status, exitCode, endedAt });
  }
  await cancelDependants(ctx);
}

/** The record's final word wins; else what Slurm says; else (Slurm forgot the job) lost. */
export function decide(doc: RunDoc | undefined, slurm: SlurmJobState | undefined): RunStatus {
  if (doc && isFinal(doc.status) && doc.status !== 'lost') return doc.status;
  if (!slurm) return 'lost';
  switch (slurm.state) {
    case 'PENDING':
    case 'REQUEUED':
      return 'pending';
    case 'CONFIGURING':
      return 'pending';
    case 'RUNNING':
    case 'COMPLETING':
    case 'SUSPENDED':
      return 'running';
    case 'CANCELLED':
      return 'cancelled';
    default:
      // COMPLETED without a final record, FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY …
      return 'failed';
  }
}

/**
 * What the node recorded enters this catalog: exact inputs, the versions made (committed ones
 * synced from the bucket, so `versions details` shows them; uncommitted ones opened from their
 * drafts, so they can be read, committed or resumed from here).
 */
async function importRecord(ctx: AppContext, run: Run, doc: RunDoc): Promise<void> {
  const { runs, datasets } = ctx.catalog;
  const provider = findProvider(ctx, run.storageProviderId!);
  for (const i of doc.inputs) runs.addInput(run.id, i);
  for (const o of doc.outputs) {
    if (o.committed && !datasets.version(o.datasetId, o.versionId)?.committedAt) {
      await syncProvider(ctx, provider, o.datasetId);
    } else if (!o.committed) {
      if (!datasets.get(o.datasetId)) await syncProvider(ctx, provider, o.datasetId);
      await openDraft(ctx, o.datasetId, o.versionId);
    }
    if (datasets.version(o.datasetId, o.versionId)) runs.addOutput(run.id, o);
  }
}

/** An uncommitted output as its draft in the bucket says now (the node syncs it while the job runs). */
async function openDraft(ctx: AppContext, datasetId: string, versionId: string): Promise<void> {
  const { datasets, files } = ctx.catalog;
  const dataset = datasets.get(datasetId);
  if (!dataset) return;
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  const key = draftKey(datasetId, versionId);
  const bytes = await readIfPresent(backend, key);
  const draft = bytes && parseDraftDoc(key, bytes);
  const known = datasets.version(datasetId, versionId);
  if (known?.committedAt) return;
  ctx.catalog.transaction(() => {
    if (!known) {
      const createdAt = draft ? (draft.createdAt ?? draft.updatedAt) : new Date().toISOString();
      datasets.insertVersion({ datasetId, id: versionId, message: draft?.message ?? '', createdAt, committedAt: null });
    }
    if (draft && draft.datasetId === datasetId && draft.versionId === versionId) {
      files.deleteUnder(datasetId, versionId, '');
      files.upsert(datasetId, versionId, draft.files);
    }
  });
}

async function cancelDependants(ctx: AppContext): Promise<void> {
  for (;;) {
    const all = ctx.catalog.runs.list();
    const ended = new Set(all.filter((r) => ['failed', 'cancelled', 'lost'].includes(r.status)).map((r) => r.id));
    const doomed = all.filter((r) => r.executor === 'slurm' && !isFinal(r.status) && r.needs.some((n) => ended.has(n)));
    if (doomed.length === 0) return;
    for (const run of doomed) await markCancelled(ctx, run, `a run it needs did not succeed`);
  }
}

async function markCancelled(ctx: AppContext, run: Run, why: string): Promise<void> {
  if (run.slurmJobId) await scancel([run.slurmJobId]);
  const endedAt = new Date().toISOString();
  ctx.catalog.runs.update(run.id, { status: 'cancelled', exitCode: null, endedAt });
  const provider = findProvider(ctx, run.storageProviderId!);
  await writeRunDoc(ctx, provider, { id: run.id, job: run.job, command: run.command, status: 'cancelled', endedAt });
  ctx.reporter.info(`run ${run.id} (job ${run.job}, Slurm job ${run.slurmJobId}) cancelled: ${why}`);
}

/**
 * `jobs cancel`: Slurm cancels the job. A running one gets SIGTERM, and its `jobs exec` makes a
 * final sync within the cluster's KillWait: this waits for that end, then takes in its record.
 */
export async function cancelRun(ctx: AppContext, id: string, signal?: AbortSignal): Promise<Run> {
  await refreshSlurmRuns(ctx, [id]);
  const run = ctx.catalog.runs.get(id);
  if (!run) throw new NotFoundError(`no run "${id}"; see: strata jobs list`, 'ENORUN');
  if (run.executor !== 'slurm')
    throw new UsageError(`run ${id} ran on this machine, not on Slurm: stop its jobs run or jobs exec (Ctrl-C)`);
  if (isFinal(run.status)) return run;
  if (run.status === 'pending' || !run.slurmJobId) await markCancelled(ctx, run, 'strata jobs cancel');
  else {
    await scancel([run.slurmJobId]);
    for (;;) {
      const state = (await slurmStates([run.slurmJobId])).get(run.slurmJobId)?.state;
      if (!state || !['RUNNING', 'COMPLETING', 'CONFIGURING', 'PENDING'].includes(state)) break;
      await sleep(300, undefined, { signal });
    }
    const provider = findProvider(ctx, run.storageProviderId!);
    const doc = await readRunDoc(ctx, provider, run.id).catch(() => undefined);
    if (doc) await importRecord(ctx, run, doc);
    const endedAt = doc?.endedAt ?? new Date().toISOString();
    ctx.catalog.runs.update(run.id, { status: 'cancelled', exitCode: doc?.exitCode ?? null, endedAt });
    if (!doc || !isFinal(doc.status))
      await writeRunDoc(ctx, provider, { id, job: run.job, command: run.command, status: 'cancelled', endedAt });
  }
  await cancelDependants(ctx);
  return ctx.catalog.runs.get(id)!;
}

/** `versions details`: a version a Slurm run made shows with its provenance, no sync asked. */
export async function versionDetailsNow(ctx: AppContext, ref: string): Promise<ReturnType<typeof versionDetails>> {
  await refreshSlurmRuns(ctx);
  return versionDetails(ctx, ref);
}

/** `jobs list`; `team`: with the runs teammates submitted, from the records in the buckets. */
export async function listJobRuns(ctx: AppContext, options: { team?: boolean } = {}): Promise<Run[]> {
  if (options.team) await adoptTeamRecords(ctx);
  await refreshSlurmRuns(ctx);
  return listRuns(ctx);
}

export async function jobRunDetails(ctx: AppContext, id: string): Promise<RunDetails> {
  if (!ctx.catalog.runs.get(id) && RUN_ID.test(id)) {
    for (const provider of ctx.catalog.providers.list()) if (await adoptRecord(ctx, provider, id)) break;
  }
  await refreshSlurmRuns(ctx, [id]);
  return runDetails(ctx, id);
}

/** Every run record in the buckets of this catalog's providers that this catalog lacks. */
async function adoptTeamRecords(ctx: AppContext): Promise<void> {
  for (const provider of ctx.catalog.providers.list()) {
    for await (const object of (await ctx.backend(provider)).list('runs/')) {
      const id = /^runs\/(run[a-z0-9]{12})\.json$/.exec(object.key)?.[1];
      if (id && !ctx.catalog.runs.get(id)) await adoptRecord(ctx, provider, id);
    }
  }
}

/**
 * A run another catalog submitted, found by its record in this provider: it enters this catalog
 * as a Slurm run, to be brought up to date like one of its own. false: no (readable) record.
 */
async function adoptRecord(ctx: AppContext, provider: Provider, id: string): Promise<boolean> {
  const doc = await readRunDoc(ctx, provider, id).catch(() => undefined);
  if (!doc) return false;
  ctx.catalog.runs.insert({
    id,
    job: doc.job,
    specFile: null,
    command: doc.command,
    status: doc.status === 'running' || doc.status === 'pending' ? doc.status : 'pending',
    exitCode: null,
    isolation: '',
    host: doc.host ?? '',
    runnerPid: 0,
    logPath: '',
    startedAt: doc.startedAt ?? doc.updatedAt,
    endedAt: null,
    executor: 'slurm',
    slurmJobId: doc.slurmJobId,
    storageProviderId: provider.id,
    needs: [],
  });
  return true;
}

/** Follows runs to their ends, saying each change of state; returns them as they ended. */
export async function waitForRuns(ctx: AppContext, ids: readonly string[], signal?: AbortSignal): Promise<Run[]> {
  const seen = new Map<string, RunStatus>();
  for (;;) {
    await refreshSlurmRuns(ctx, ids);
    const runs = ids.map((id) => ctx.catalog.runs.get(id)!);
    for (const r of runs) {
      if (seen.get(r.id) !== r.status)
        ctx.reporter.info(`run ${r.id} (job ${r.job}, Slurm job ${r.slurmJobId}): ${r.status}`);
      seen.set(r.id, r.status);
    }
    if (runs.every((r) => isFinal(r.status))) return runs;
    await sleep(500, undefined, { signal });
  }
}

/** `jobs run --executor slurm [--wait]`: submit, and with wait follow the runs to their end. */
export async function runOnSlurm(
  ctx: AppContext,
  input: SlurmSubmitInput & { wait?: boolean; signal?: AbortSignal },
): Promise<SlurmSubmitResult> {
  const result = await submitSpec(ctx, input);
  for (const j of result.jobs) ctx.reporter.info(`job ${j.job}: run ${j.runId}, Slurm job ${j.slurmJobId}`);
  if (!input.wait) return result;
  const ended = await waitForRuns(
    ctx,
    result.jobs.map((j) => j.runId),
    input.signal,
  );
  const jobs = result.jobs.map((j, i) => ({ ...j, status: ended[i]!.status, exitCode: ended[i]!.exitCode }));
  return { ...result, jobs, failed: jobs.some((j) => j.status !== 'succeeded') };
}
