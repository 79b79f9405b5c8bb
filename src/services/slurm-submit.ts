import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AppContext } from './context.js';
import { UsageError } from '../core/errors.js';
import { readConfig } from '../core/config.js';
import { newRunId } from '../core/ids.js';
import type { Provider } from '../core/model.js';
import { shellQuote, type JobSpec, type OutputSpec } from '../jobs/spec.js';
import { sbatchResourceArgs } from '../jobs/resources.js';
import { exportArg, sbatch, sbatchTestOnly, scancel } from '../jobs/slurm.js';
import { checkSpec, type CheckedSpec } from './job-specs.js';
import { jobCwd } from './jobs.js';
import { outputDataset } from './job-outputs.js';
import { findDataset, findProvider, resolveRef } from './resolve.js';
import { LOCAL_PROVIDER_NAME } from './context.js';
import { recordProviderOf, writeRunDoc } from './run-records.js';

export interface SlurmSubmitInput {
  file: string;
  job?: string;
  partition?: string;
  /** more sbatch options, passed as they are (e.g. --account=ml, --qos=high) */
  sbatchArgs: string[];
  /** how a node starts Strata (default: this Node and this install, which must be on a shared path) */
  nodeCommand?: string;
  /** the node's STRATA_HOME (default: a directory of its own per Slurm job under $TMPDIR) */
  nodeHome?: string;
  /** a 0600 AWS credentials file the node reads (never sent through Slurm: only its path is) */
  credentialsFile?: string;
  cacheDir?: string;
  isolation: 'auto' | 'none';
  offline?: boolean;
}

export interface SubmittedRun {
  job: string;
  runId: string;
  slurmJobId: string;
  status: string;
  exitCode?: number | null;
}

export interface SlurmSubmitResult {
  file: string;
  executor: 'slurm';
  jobs: SubmittedRun[];
  /** with --wait: a run did not succeed */
  failed: boolean;
}

interface Planned {
  job: JobSpec;
  runId: string;
  args: string[];
  script: string;
  needs: string[];
}

/**
 * `jobs run --executor slurm`: every job of the spec becomes one sbatch job running `strata jobs
 * exec` on its node, `needs` as afterok dependencies. Everything is checked first — refs resolved
 * to exact versions, and `sbatch --test-only` for every job — so nothing is submitted unless all is.
 */
export async function submitSpec(ctx: AppContext, input: SlurmSubmitInput): Promise<SlurmSubmitResult> {
  const checked = await checkSpec(ctx, input);
  // Slurm writes each job's output file there, and fails the job when it cannot.
  if (input.nodeHome) await mkdir(resolve(input.nodeHome), { recursive: true });
  const provider = recordProvider(ctx, checked, input.file);
  const locator = recordProviderOf(provider, input.credentialsFile && resolve(input.credentialsFile));
  // Would Slurm take every job? Asked before anything is made or submitted (the script is not
  // what it checks: resources, partition, options).
  for (const job of checked.chosen) {
    const refused = await sbatchTestOnly(sbatchArgs(ctx, input, job), '#!/bin/sh\ntrue\n');
    if (refused) {
      const line = job.resources?.line ?? job.line;
      throw new UsageError(`${input.file}:${line}: job ${job.name}: Slurm would not run it: ${refused}`, 'ESPEC');
    }
  }
  const planned = new Map<string, Planned>();
  for (const job of checked.chosen) {
    const outputs = await outputArgs(ctx, job, provider);
    planned.set(job.name, plan(ctx, input, checked, job, locator, outputs, planned));
  }
  const submitted: SubmittedRun[] = [];
  const slurmIds = new Map<string, string>();
  const recorded: Planned[] = [];
  try {
    for (const p of planned.values()) {
      const deps = p.job.needs.map((n) => slurmIds.get(n)).filter((id) => id !== undefined);
      await writeRunDoc(ctx, provider, {
        id: p.runId,
        job: p.job.name,
        command: p.job.run,
        status: 'pending',
        slurmJobId: null,
      });
      recorded.push(p);
      const id = await sbatch(
        [...p.args, ...(deps.length > 0 ? [`--dependency=afterok:${deps.join(':')}`] : [])],
        p.script,
      );
      slurmIds.set(p.job.name, id);
      recordSubmitted(ctx, input, p, id, provider, checked);
      submitted.push({ job: p.job.name, runId: p.runId, slurmJobId: id, status: 'pending' });
    }
  } catch (error) {
    // All or nothing: what was submitted before the failure is cancelled again, records and all.
    await scancel([...slurmIds.values()]).catch(() => undefined);
    const endedAt = new Date().toISOString();
    for (const p of recorded) {
      if (submitted.some((s) => s.runId === p.runId))
        ctx.catalog.runs.update(p.runId, { status: 'cancelled', exitCode: null, endedAt });
      const cancelled = { id: p.runId, job: p.job.name, command: p.job.run, status: 'cancelled' as const, endedAt };
      await writeRunDoc(ctx, provider, cancelled).catch(() => undefined);
    }
    throw error;
  }
  return { file: input.file, executor: 'slurm', jobs: submitted, failed: false };
}

/** The one provider whose bucket the jobs read, write and keep their records in. */
function recordProvider(ctx: AppContext, checked: CheckedSpec, file: string): Provider {
  const ids = new Set<string>();
  for (const job of checked.chosen) {
    for (const ref of checked.resolved.get(job.name)?.values() ?? [])
      ids.add(resolveRef(ctx, ref).dataset.storageProviderId);
    // An output dataset still to be made goes where the rest is (below): it names no provider.
    for (const o of [...job.outputs, ...(job.logs ? [job.logs] : [])]) {
      const id = outputProviderId(ctx, o);
      if (id !== undefined) ids.add(id);
    }
  }
  if (ids.size === 0) ids.add(findProvider(ctx, LOCAL_PROVIDER_NAME).id);
  if (ids.size > 1) {
    const names = [...ids].map((id) => findProvider(ctx, id).name).join(', ');
    throw new UsageError(
      `${file}: jobs on Slurm read and write one storage provider, whose bucket keeps their records; this spec uses ${names}`,
      'ESPEC',
    );
  }
  return findProvider(ctx, [...ids][0]!);
}

/** An output's provider when it is decided: its dataset's, or the one it names; else undefined. */
function outputProviderId(ctx: AppContext, o: OutputSpec): string | undefined {
  try {
    return findDataset(ctx, o.dataset).storageProviderId;
  } catch {
    return o.storageProviderId === undefined ? undefined : findProvider(ctx, o.storageProviderId).id;
  }
}

/** `--output`/`--logs` values naming each output's dataset by id: a node finds it in the bucket. */
async function outputArgs(ctx: AppContext, job: JobSpec, provider: Provider): Promise<string[]> {
  const args: string[] = [];
  const made = (o: OutputSpec) => outputDataset(ctx, { ...o, storageProviderId: o.storageProviderId ?? provider.id });
  for (const o of job.outputs) {
    const dataset = await made(o);
    const sync = o.syncMs === null ? 'off' : `${Math.round(o.syncMs / 1000)}s`;
    args.push(
      '--output',
      `${o.name}=${dataset.id}${o.tag ? `:${o.tag}` : ''},sync=${sync}${o.deleteSync ? '' : ',deleteSync=false'}`,
    );
  }
  if (job.logs) {
    const dataset = await made(job.logs);
    args.push('--logs', `${dataset.id}${job.logs.tag ? `:${job.logs.tag}` : ''}`);
  }
  return args;
}

function plan(
  ctx: AppContext,
  input: SlurmSubmitInput,
  checked: CheckedSpec,
  job: JobSpec,
  locator: string,
  outputs: string[],
  planned: Map<string, Planned>,
): Planned {
  const runId = newRunId();
  const exec: string[] = [
    'jobs',
    'exec',
    '--run-id',
    runId,
    '--record-provider',
    locator,
    '--isolation',
    input.isolation,
  ];
  const refs = checked.resolved.get(job.name)!;
  for (const i of job.inputs) {
    if (i.kind === 'dataset') exec.push('--input', `${i.name}=${refs.get(i.name)}`);
    else if (i.kind === 'http') exec.push('--input', `${i.name}=${i.url}`);
    else if (i.kind === 'job') {
      const upstream = planned.get(i.job);
      // Read from the upstream run's record when this job starts; run alone, the version found now.
      if (upstream) exec.push('--input-run', `${i.name}=${upstream.runId}/${i.output}`);
      else exec.push('--input', `${i.name}=${checked.upstream.get(`${i.job}.${i.output}`)}`);
    } else {
      throw new UsageError(
        `${input.file}:${i.line}: job ${job.name}: input ${i.name}: git inputs do not run on Slurm yet`,
        'ESPEC',
      );
    }
  }
  exec.push(...outputs);
  const cacheDir =
    input.cacheDir ?? (ctx.env.STRATA_CACHE_DIR || undefined) ?? readConfig(ctx.paths.config)['cache.dir'];
  if (cacheDir) exec.push('--cache-dir', resolve(cacheDir));
  exec.push('--', '/bin/sh', '-c', job.run);
  const command = input.nodeCommand ?? `${shellQuote(process.execPath)} ${shellQuote(process.argv[1] ?? 'strata')}`;
  const home = input.nodeHome ? shellQuote(resolve(input.nodeHome)) : '"${TMPDIR:-/tmp}/strata-slurm-$SLURM_JOB_ID"';
  const script = [
    '#!/bin/sh',
    `# strata run ${runId}: job ${job.name} of ${resolve(input.file)}`,
    `export STRATA_HOME=${home}`,
    ...Object.entries(job.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `exec ${command} ${exec.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
  const args = sbatchArgs(ctx, input, job);
  return {
    job,
    runId,
    args,
    script,
    needs: job.needs.map((n) => planned.get(n)?.runId).filter((r) => r !== undefined),
  };
}

/** The sbatch options of a job, but for its dependencies. */
function sbatchArgs(ctx: AppContext, input: SlurmSubmitInput, job: JobSpec): string[] {
  const logDir = input.nodeHome ? resolve(input.nodeHome) : '/tmp';
  return [
    `--job-name=strata-${job.name}`,
    `--chdir=${jobCwd(job, input.file)}`,
    `--output=${logDir}/strata-slurm-%j.out`,
    exportArg(ctx.env),
    // Should no Strata be watching when a job fails, Slurm cancels its dependants on a later pass.
    '--kill-on-invalid-dep=yes',
    ...(input.partition ? [`--partition=${input.partition}`] : []),
    ...sbatchResourceArgs(job.resources),
    ...input.sbatchArgs,
  ];
}

function recordSubmitted(
  ctx: AppContext,
  input: SlurmSubmitInput,
  p: Planned,
  slurmJobId: string,
  provider: Provider,
  checked: CheckedSpec,
): void {
  const { runs } = ctx.catalog;
  ctx.catalog.transaction(() => {
    runs.insert({
      id: p.runId,
      job: p.job.name,
      specFile: resolve(input.file),
      command: p.job.run,
      status: 'pending',
      exitCode: null,
      isolation: input.isolation,
      host: '',
      runnerPid: 0,
      // Slurm's output file for the job (%j expanded): where a node's `jobs exec` says what happened.
      logPath: p.args
        .find((a) => a.startsWith('--output='))!
        .slice('--output='.length)
        .replace('%j', slurmJobId),
      startedAt: new Date().toISOString(),
      endedAt: null,
      executor: 'slurm',
      slurmJobId,
      storageProviderId: provider.id,
      needs: p.needs,
    });
    for (const [name, ref] of checked.resolved.get(p.job.name) ?? []) {
      const [datasetId, versionId] = ref.split(':');
      runs.addInput(p.runId, { name, datasetId: datasetId!, versionId: versionId!, url: null, commit: null });
    }
  });
}
