import { chmod, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { AppContext } from './context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { newRunId } from '../core/ids.js';
import type { RunStatus } from '../catalog/runs.js';
import {
  DEFAULT_LOG_SYNC_MS,
  parseExecInput,
  parseExecOutput,
  parseSpec,
  shellQuote,
  type JobSpec,
  type OutputSpec,
} from '../jobs/spec.js';
import { jobOrder } from '../jobs/dag.js';
import { chooseIsolation, type Isolation, type Mount } from '../jobs/isolation.js';
import { runProcess, type Syncer } from '../jobs/runner.js';
import { materialize } from '../cache/materialize.js';
import { blobKey } from '../storage/keys.js';
import { openCache } from './cache.js';
import { createDataset } from './datasets.js';
import { commitVersion, createVersion } from './versions.js';
import { setTag } from './tags.js';
import { mirrorDirectory } from './mirror.js';
import { removeDraft } from './drafts.js';
import { placeDatasetInput, placeUrlInput, type ResolvedInput } from './job-inputs.js';
import { refreshForRead } from './sync.js';
import { DEFAULT_CONCURRENCY } from './files.js';
import { findDataset, findProvider, resolveRef, resolveUncommitted, type Resolved } from './resolve.js';

export interface JobOptions {
  specFile?: string;
  isolation: 'auto' | 'none';
  /** output name → ref of an earlier version to start that output from */
  resumeFrom?: Record<string, string>;
  offline?: boolean;
  cacheDir?: string;
  /** what earlier jobs of this invocation made: "job.output" → DATASET_ID:VERSION */
  upstream?: Map<string, string>;
  /** the whole spec, when one job runs alone: JOB.outputs.X then means that output's latest version */
  spec?: Map<string, JobSpec>;
  stdout: Writable;
  stderr: Writable;
  signal?: AbortSignal;
}

export interface JobOutputResult {
  name: string;
  ref: string;
  committed: boolean;
  tag?: string;
  files: number;
}

export interface JobResult {
  job: string;
  runId: string;
  status: RunStatus;
  exitCode: number | null;
  isolation: Isolation;
  logPath: string;
  inputs: ResolvedInput[];
  outputs: JobOutputResult[];
}

interface PreparedOutput {
  spec: OutputSpec;
  resolved: Resolved;
  dir: string;
  warned: Set<string>;
}

/**
 * Runs one job: inputs materialized read-only from the team cache, outputs started empty (or from
 * an earlier version) and synced into uncommitted versions while the command runs, then committed
 * (and tagged) when it exits 0. The run, its exact inputs and its outputs are recorded.
 */
export async function runJob(ctx: AppContext, job: JobSpec, options: JobOptions): Promise<JobResult> {
  const runId = newRunId();
  const runDir = join(ctx.paths.home, 'runs', runId);
  const logsDir = join(runDir, 'logs');
  await mkdir(logsDir, { recursive: true });
  const logPath = join(logsDir, 'job.log');
  const { isolation, why } = chooseIsolation(options.isolation);
  ctx.reporter.info(
    isolation === 'namespace'
      ? `job ${job.name} (${runId}): isolation namespace (${why}): data at /inputs/<name> and /outputs/<name>`
      : `job ${job.name} (${runId}): isolation none (${why}): data in ${runDir}, paths in STRATA_INPUT_<NAME> and STRATA_OUTPUT_<NAME>`,
  );
  const { runs } = ctx.catalog;
  runs.insert({
    id: runId,
    job: job.name,
    specFile: options.specFile ?? null,
    command: job.run,
    status: 'running',
    exitCode: null,
    isolation,
    host: hostname(),
    runnerPid: process.pid,
    logPath,
    startedAt: new Date().toISOString(),
    endedAt: null,
  });
  const result: JobResult = {
    job: job.name,
    runId,
    status: 'failed',
    exitCode: null,
    isolation,
    logPath,
    inputs: [],
    outputs: [],
  };
  let outputsStored = job.outputs.length === 0;
  try {
    const cache = openCache(ctx, options.cacheDir);
    const inputMounts: Mount[] = [];
    for (const input of job.inputs) {
      const dir = join(runDir, 'inputs', input.name);
      // Under a read-only mount hardlinks are safe and nearly free; otherwise the job gets copies.
      const link = isolation === 'namespace' ? 'hardlink' : 'auto';
      const placed =
        input.kind === 'http'
          ? await placeUrlInput(ctx, cache, input, dir, { link, signal: options.signal })
          : await placeDatasetInput(ctx, cache, input.name, jobInputRef(ctx, input, options), dir, {
              link,
              offline: options.offline,
              signal: options.signal,
            });
      await mkdir(dir, { recursive: true });
      if (isolation === 'none') await makeReadOnly(dir);
      result.inputs.push(placed);
      runs.addInput(runId, {
        name: input.name,
        datasetId: placed.datasetId ?? null,
        versionId: placed.versionId ?? null,
        url: placed.url ?? null,
      });
      inputMounts.push({ name: input.name, hostPath: dir });
    }

    const outputs: PreparedOutput[] = [];
    for (const spec of job.outputs)
      outputs.push(await prepareOutput(ctx, runId, join(runDir, 'outputs', spec.name), spec, options));
    const logOutput = job.logs
      ? await prepareOutput(ctx, runId, logsDir, job.logs, { ...options, resumeFrom: {} })
      : undefined;

    const env = jobEnv(job, isolation, runDir, runId, inputMounts, outputs);
    const syncers: Syncer[] = [...outputs, ...(logOutput ? [logOutput] : [])]
      .filter((o) => o.spec.syncMs !== null)
      .map((o) => ({
        name: o.spec.name,
        intervalMs: o.spec.syncMs!,
        sync: async () =>
          void (await mirrorDirectory(ctx, o.resolved, o.dir, { deleteMissing: o.spec.deleteSync, warned: o.warned })),
      }));
    const cwd = job.workingDirectory
      ? resolve(options.specFile ? dirname(options.specFile) : process.cwd(), job.workingDirectory)
      : process.cwd();
    const exit = await runProcess({
      command: job.run,
      env,
      cwd,
      isolation,
      namespace: {
        inputs: inputMounts,
        outputs: outputs.map((o) => ({ name: o.spec.name, hostPath: o.dir })),
        hide: [cache.dir, ctx.paths.home],
      },
      logPath,
      stdout: options.stdout,
      stderr: options.stderr,
      syncers,
      onSyncError: (name, error) =>
        ctx.reporter.warn(`sync of output ${name} failed (will retry): ${(error as Error).message}`),
    });
    result.exitCode = exit.exitCode ?? (exit.signal ? 128 : null);
    const succeeded = exit.exitCode === 0;
    // The final sync makes each version exactly what its directory holds now.
    for (const o of [...outputs, ...(logOutput ? [logOutput] : [])]) {
      await mirrorDirectory(ctx, o.resolved, o.dir, { deleteMissing: true, warned: o.warned });
      result.outputs.push(await finishOutput(ctx, runId, o, succeeded));
    }
    outputsStored = true;
    result.status = succeeded ? 'succeeded' : 'failed';
    if (!succeeded) explainFailure(ctx, job, result);
  } finally {
    runs.finish(runId, result.status, result.exitCode);
    await removeRunData(runDir, outputsStored);
  }
  return result;
}

function jobInputRef(
  ctx: AppContext,
  input: Exclude<JobSpec['inputs'][number], { kind: 'http' }>,
  options: JobOptions,
): string {
  if (input.kind === 'dataset') return input.ref;
  const made = options.upstream?.get(`${input.job}.${input.output}`);
  if (made) return made;
  const source = options.spec?.get(input.job)?.outputs.find((o) => o.name === input.output);
  if (!source)
    throw new NotFoundError(`input ${input.name}: no run of ${input.job} made output ${input.output}`, 'ENOVERSION');
  const { dataset, version } = resolveRef(ctx, source.dataset);
  ctx.reporter.info(
    `input ${input.name}: ${input.job}.outputs.${input.output} is ${dataset.name}:${version.id}, the latest committed version of ${dataset.name} (job ${input.job} is not run with --job)`,
  );
  return `${dataset.id}:${version.id}`;
}

async function prepareOutput(
  ctx: AppContext,
  runId: string,
  dir: string,
  spec: OutputSpec,
  options: JobOptions,
): Promise<PreparedOutput> {
  let datasetId: string;
  try {
    datasetId = findDataset(ctx, spec.dataset).id;
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
    datasetId = created.id;
  }
  const from = options.resumeFrom?.[spec.name];
  const created = createVersion(ctx, { id: datasetId, message: `output ${spec.name} of run ${runId}`, from });
  const resolved = resolveUncommitted(ctx, created.ref);
  await mkdir(dir, { recursive: true });
  if (from) {
    const provider = findProvider(ctx, resolved.dataset.storageProviderId);
    await materialize({
      cache: openCache(ctx, options.cacheDir),
      files: ctx.catalog.files.list(resolved.dataset.id, resolved.version.id),
      target: dir,
      link: 'auto',
      fetch: async (sha, signal) => (await ctx.backend(provider)).get(blobKey(sha), undefined, signal),
      concurrency: DEFAULT_CONCURRENCY,
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
  return { spec, resolved, dir, warned: new Set() };
}

async function finishOutput(
  ctx: AppContext,
  runId: string,
  o: PreparedOutput,
  succeeded: boolean,
): Promise<JobOutputResult> {
  const ref = `${o.resolved.dataset.id}:${o.resolved.version.id}`;
  const files = ctx.catalog.files.summary(o.resolved.dataset.id, o.resolved.version.id).fileCount;
  if (!succeeded) return { name: o.spec.name, ref, committed: false, files };
  await commitVersion(ctx, ref);
  await removeDraft(ctx, o.resolved.dataset, o.resolved.version.id);
  ctx.catalog.runs.addOutput(runId, {
    name: o.spec.name,
    datasetId: o.resolved.dataset.id,
    versionId: o.resolved.version.id,
    committed: true,
  });
  if (o.spec.tag) await setTag(ctx, { id: ref, name: o.spec.tag });
  return { name: o.spec.name, ref, committed: true, files, ...(o.spec.tag ? { tag: o.spec.tag } : {}) };
}

function explainFailure(ctx: AppContext, job: JobSpec, result: JobResult): void {
  ctx.reporter.warn(`job ${job.name} failed (exit ${result.exitCode ?? 'signal'}); its log: ${result.logPath}`);
  for (const o of result.outputs) {
    ctx.reporter.warn(
      `output ${o.name}: uncommitted version ${o.ref} holds what was synced (${o.files} files); commit it with: strata datasets versions commit --id ${o.ref}; or resume from it with: strata jobs exec --resume-from ${o.name}=${o.ref} …`,
    );
  }
}

const envName = (name: string): string => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');

function jobEnv(
  job: JobSpec,
  isolation: Isolation,
  runDir: string,
  runId: string,
  inputs: Mount[],
  outputs: PreparedOutput[],
): NodeJS.ProcessEnv {
  const inputsRoot = isolation === 'namespace' ? '/inputs' : join(runDir, 'inputs');
  const outputsRoot = isolation === 'namespace' ? '/outputs' : join(runDir, 'outputs');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...job.env,
    STRATA_RUN_ID: runId,
    STRATA_INPUTS: inputsRoot,
    STRATA_OUTPUTS: outputsRoot,
  };
  for (const m of inputs) env[`STRATA_INPUT_${envName(m.name)}`] = join(inputsRoot, m.name);
  for (const o of outputs) env[`STRATA_OUTPUT_${envName(o.spec.name)}`] = join(outputsRoot, o.spec.name);
  return env;
}

/** Without a read-only mount, the job's copies of its inputs are at least not writable by mode. */
async function makeReadOnly(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeReadOnly(path);
    else await chmod(path, (await stat(path)).mode & 0o555);
  }
  await chmod(dir, 0o555);
}

/**
 * Removes a run's input copies and, once they are safely in their versions, its output
 * directories; the log stays. Outputs whose final sync failed stay on disk for the person to save.
 */
async function removeRunData(runDir: string, outputsStored: boolean): Promise<void> {
  for (const sub of outputsStored ? ['inputs', 'outputs'] : ['inputs']) {
    const dir = join(runDir, sub);
    await makeWritable(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}

export interface SpecRunResult {
  file: string;
  jobs: (JobResult | { job: string; status: 'skipped'; reason: string })[];
}

/** `jobs run`: every job of a spec in needs order (or one alone); a failed job stops its dependants. */
export async function runSpec(
  ctx: AppContext,
  input: { file: string; job?: string } & Omit<JobOptions, 'specFile' | 'upstream' | 'spec'>,
): Promise<SpecRunResult> {
  const text = await readFile(input.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new NotFoundError(`job spec ${input.file} does not exist`, 'ENOSPEC') : error;
  });
  const jobs = parseSpec(text, input.file);
  const order = jobOrder(jobs, input.file);
  let chosen = order;
  if (input.job !== undefined) {
    const one = jobs.get(input.job);
    if (!one)
      throw new NotFoundError(
        `${input.file} has no job "${input.job}" (jobs: ${[...jobs.keys()].join(', ')})`,
        'ENOJOB',
      );
    chosen = [one];
  }
  // Refs are checked before anything runs: a typo fails in a second, not after an hour of training.
  for (const job of chosen) {
    for (const i of job.inputs) {
      if (i.kind === 'dataset') {
        await refreshForRead(ctx, i.ref, input.offline);
        resolveRef(ctx, i.ref);
      }
    }
  }
  const result: SpecRunResult = { file: input.file, jobs: [] };
  const upstream = new Map<string, string>();
  const failed = new Set<string>();
  for (const job of chosen) {
    const blocked = job.needs.find((n) => failed.has(n));
    if (blocked) {
      failed.add(job.name);
      result.jobs.push({ job: job.name, status: 'skipped', reason: `needs ${blocked}, which did not succeed` });
      continue;
    }
    const run = await runJob(ctx, job, {
      ...input,
      specFile: resolve(input.file),
      upstream,
      spec: input.job ? jobs : undefined,
    });
    result.jobs.push(run);
    if (run.status !== 'succeeded') failed.add(job.name);
    for (const o of run.outputs) upstream.set(`${job.name}.${o.name}`, o.ref);
  }
  return result;
}

export interface ExecInput extends Omit<JobOptions, 'specFile' | 'upstream' | 'spec'> {
  inputs: string[];
  outputs: string[];
  logs?: string;
  argv: string[];
}

/** `jobs exec`: the same runner for one command, for a container or a cluster task. */
export async function execJob(ctx: AppContext, input: ExecInput): Promise<JobResult> {
  const job: JobSpec = {
    name: 'exec',
    line: 0,
    needs: [],
    inputs: input.inputs.map(parseExecInput),
    outputs: input.outputs.map((o) => parseExecOutput(o)),
    ...(input.logs ? { logs: parseExecOutput(`logs=${input.logs}`, DEFAULT_LOG_SYNC_MS) } : {}),
    run: input.argv.map(shellQuote).join(' '),
    env: {},
  };
  for (const name of Object.keys(input.resumeFrom ?? {})) {
    if (!job.outputs.some((o) => o.name === name))
      throw new UsageError(`--resume-from ${name}=…: there is no --output ${name}`);
  }
  for (const i of job.inputs) {
    if (i.kind === 'dataset') {
      await refreshForRead(ctx, i.ref, input.offline);
      resolveRef(ctx, i.ref);
    }
  }
  return runJob(ctx, job, input);
}
