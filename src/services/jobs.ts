import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { removeTree } from '../core/remove-tree.js';
import { constants, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { AppContext } from './context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { newRunId } from '../core/ids.js';
import type { RunStatus } from '../core/model.js';
import { runProvenance } from './runs.js';
import { DEFAULT_LOG_SYNC_MS, shellQuote, type InputSpec, type JobSpec } from '../jobs/spec.js';
import { parseExecInput, parseExecOutput } from '../jobs/exec-args.js';
import { chooseIsolation, type Isolation, type Mount } from '../jobs/isolation.js';
import { runProcess, type Syncer } from '../jobs/runner.js';
import { openCache } from './cache.js';
import { placeDatasetInput, placeGitInput, placeUrlInput, type ResolvedInput } from './job-inputs.js';
import {
  checkOutput,
  failureHint,
  finishOutput,
  prepareOutput,
  syncOutput,
  type JobOutputResult,
  type PreparedOutput,
} from './job-outputs.js';
import { refreshForRead } from './sync.js';
import { resolveRef } from './resolve.js';

export type { JobOutputResult } from './job-outputs.js';

export interface JobOptions {
  specFile?: string;
  isolation: 'auto' | 'none';
  /** output name → ref of an earlier version to start that output from */
  resumeFrom?: Record<string, string>;
  offline?: boolean;
  cacheDir?: string;
  /** what JOB.outputs.NAME inputs read: "job.output" → DATASET_ID:VERSION (made earlier in this run, or resolved) */
  upstream?: Map<string, string>;
  /** the run's id when it was chosen before (a run submitted to Slurm); else a new one */
  runId?: string;
  /** told the uncommitted versions the outputs go to, once they exist (a Slurm run records them) */
  onOutputs?(outputs: JobOutputResult[]): Promise<void>;
  /** true when the job was told to stop (a Slurm job's SIGTERM): it then ends failed, its outputs uncommitted */
  stopped?(): boolean;
  stdout: Writable;
  stderr: Writable;
  signal?: AbortSignal;
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

/**
 * Runs one job: inputs materialized read-only from the team cache, outputs started empty (or from
 * an earlier version) and synced into uncommitted versions while the command runs, then committed
 * (and tagged) when it exits 0. The run, its exact inputs and its outputs are recorded.
 */
export async function runJob(ctx: AppContext, job: JobSpec, options: JobOptions): Promise<JobResult> {
  const runId = options.runId ?? newRunId();
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
    executor: 'local',
    slurmJobId: null,
    storageProviderId: null,
    needs: [],
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
          : input.kind === 'git'
            ? await placeGitInput(ctx, cache, input, dir, { link, signal: options.signal })
            : await placeDatasetInput(ctx, cache, input.name, jobInputRef(input, options), dir, {
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
        commit: placed.commit ?? null,
      });
      inputMounts.push({ name: input.name, hostPath: dir });
    }

    const outputs: PreparedOutput[] = [];
    for (const spec of job.outputs) {
      const dir = join(runDir, 'outputs', spec.name);
      outputs.push(await prepareOutput(ctx, runId, dir, spec, { ...options, from: options.resumeFrom?.[spec.name] }));
    }
    const logOutput = job.logs
      ? await prepareOutput(ctx, runId, logsDir, job.logs, { ...options, isLog: true })
      : undefined;
    const synced = [...outputs, ...(logOutput ? [logOutput] : [])];
    await options.onOutputs?.(
      synced.map((o) => ({
        name: o.spec.name,
        ref: `${o.resolved.dataset.id}:${o.resolved.version.id}`,
        committed: false,
        files: 0,
      })),
    );

    const env = jobEnv(job, isolation, runDir, runId, inputMounts, outputs);
    const syncers: Syncer[] = synced
      .filter((o) => o.spec.syncMs !== null)
      .map((o) => ({ name: o.spec.name, intervalMs: o.spec.syncMs!, sync: () => syncOutput(ctx, o) }));
    const cwd = jobCwd(job, options.specFile);
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
    // Killed by a signal: the shell's convention, 128 + its number.
    result.exitCode = exit.exitCode ?? (exit.signal ? 128 + (constants.signals[exit.signal] ?? 0) : null);
    // A job its scheduler stopped (scancel, a time limit) is not committed, whatever its exit code.
    const succeeded = exit.exitCode === 0 && options.stopped?.() !== true;
    const hints: string[] = [];
    const provenance = runProvenance(ctx, runId, { exitCode: result.exitCode });
    for (const o of synced) {
      const made = await finishOutput(ctx, runId, o, succeeded, provenance);
      result.outputs.push(made);
      if (!succeeded) hints.push(failureHint(made, o));
    }
    outputsStored = true;
    result.status = succeeded ? 'succeeded' : 'failed';
    if (!succeeded) {
      ctx.reporter.warn(`job ${job.name} failed (exit ${result.exitCode ?? 'signal'}); its log: ${result.logPath}`);
      for (const hint of hints) ctx.reporter.warn(hint);
    }
  } finally {
    runs.finish(runId, result.status, result.exitCode);
    await removeRunData(runDir, outputsStored);
  }
  return result;
}

/** Where a job's command runs: its workingDirectory, relative to the spec file; else here. */
export function jobCwd(job: JobSpec, specFile: string | undefined): string {
  if (!job.workingDirectory) return process.cwd();
  return resolve(specFile ? dirname(specFile) : process.cwd(), job.workingDirectory);
}

function jobInputRef(input: Extract<InputSpec, { kind: 'dataset' | 'job' }>, options: JobOptions): string {
  if (input.kind === 'dataset') return input.ref;
  const made = options.upstream?.get(`${input.job}.${input.output}`);
  if (!made)
    throw new NotFoundError(`input ${input.name}: no run of ${input.job} made output ${input.output}`, 'ENOVERSION');
  return made;
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
    await removeTree(dir);
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}

export interface ExecInput extends Omit<JobOptions, 'specFile' | 'upstream'> {
  inputs: string[];
  outputs: string[];
  logs?: string;
  argv: string[];
  /** the job's name in its spec, when a scheduler runs one job of a spec (Slurm); else "exec" */
  jobName?: string;
}

/** `jobs exec`: the same runner for one command, for a container or a cluster task. */
export async function execJob(ctx: AppContext, input: ExecInput): Promise<JobResult> {
  const job: JobSpec = {
    name: input.jobName ?? 'exec',
    line: 0,
    needs: [],
    inputs: input.inputs.map(parseExecInput),
    outputs: input.outputs.map((o) => parseExecOutput(o)),
    ...(input.logs ? { logs: parseExecOutput(`logs=${input.logs}`, DEFAULT_LOG_SYNC_MS) } : {}),
    run: input.argv.map(shellQuote).join(' '),
    env: {},
  };
  // Everything is checked before anything runs or is created.
  for (const i of job.inputs) {
    if (i.kind === 'dataset') {
      await refreshForRead(ctx, i.ref, input.offline);
      resolveRef(ctx, i.ref);
    }
  }
  for (const o of job.outputs) checkOutput(ctx, o);
  if (job.logs) checkOutput(ctx, job.logs);
  for (const [name, ref] of Object.entries(input.resumeFrom ?? {})) {
    const output = job.outputs.find((o) => o.name === name);
    if (!output) throw new UsageError(`--resume-from ${name}=${ref}: there is no --output ${name}`);
    await refreshForRead(ctx, ref, input.offline);
    const { dataset } = resolveRef(ctx, ref);
    if (dataset.name !== output.dataset && dataset.id !== output.dataset) {
      throw new UsageError(
        `--resume-from ${name}=${ref}: that is a version of ${dataset.name}, but output ${name} goes to ${output.dataset}; resume from a version of ${output.dataset}`,
      );
    }
  }
  return runJob(ctx, job, input);
}
