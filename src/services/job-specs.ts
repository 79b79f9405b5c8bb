import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AppContext } from './context.js';
import { NotFoundError, StrataError } from '../core/errors.js';
import { parseSpec, type InputSpec, type JobSpec } from '../jobs/spec.js';
import { jobOrder } from '../jobs/dag.js';
import { refreshForRead } from './sync.js';
import { resolveRef } from './resolve.js';
import { checkOutput } from './job-outputs.js';
import { jobCwd, runJob, type JobOptions, type JobResult } from './jobs.js';

export interface SpecRunResult {
  file: string;
  jobs: (JobResult | { job: string; status: 'skipped'; reason: string })[];
}

export interface CheckedSpec {
  jobs: Map<string, JobSpec>;
  /** the jobs to run, in needs order */
  chosen: JobSpec[];
  /** "job.output" → DATASET_ID:VERSION for the outputs of jobs not run (--job) */
  upstream: Map<string, string>;
  /** input name → DATASET_ID:VERSION, per job: every dataset ref resolved at the start */
  resolved: Map<string, Map<string, string>>;
}

/**
 * Reads a spec and checks everything before anything runs: jobs and needs, working directories,
 * outputs, and every input ref resolved to its exact version.
 */
export async function checkSpec(
  ctx: AppContext,
  input: { file: string; job?: string; offline?: boolean },
): Promise<CheckedSpec> {
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
  const upstream = new Map<string, string>();
  const resolved = new Map<string, Map<string, string>>();
  for (const job of chosen) {
    const refs = new Map<string, string>();
    resolved.set(job.name, refs);
    const cwd = jobCwd(job, input.file);
    if (!(await stat(cwd).catch(() => undefined))?.isDirectory()) {
      throw new NotFoundError(
        `${input.file}:${job.line}: job ${job.name}: workingDirectory ${job.workingDirectory} (${cwd}) is not a directory`,
        'ENOWORKDIR',
      );
    }
    for (const o of [...job.outputs, ...(job.logs ? [job.logs] : [])]) {
      await atLine(`${input.file}:${o.line}: job ${job.name}: output ${o.name}`, async () => checkOutput(ctx, o));
    }
    for (const i of job.inputs) {
      const where = `${input.file}:${i.line}: job ${job.name}: input ${i.name}`;
      if (i.kind === 'dataset') refs.set(i.name, await atLine(where, () => checkRef(ctx, i.ref, input.offline)));
      // A job run alone reads what its upstream job made last: the latest committed version.
      if (i.kind === 'job' && input.job !== undefined)
        upstream.set(`${i.job}.${i.output}`, await atLine(where, () => latestOutput(ctx, jobs, i, input)));
    }
  }
  return { jobs, chosen, upstream, resolved };
}

/** `jobs run`: every job of a spec in needs order (or one alone); a failed job stops its dependants. */
export async function runSpec(
  ctx: AppContext,
  input: { file: string; job?: string } & Omit<JobOptions, 'specFile' | 'upstream'>,
): Promise<SpecRunResult> {
  const { chosen, upstream } = await checkSpec(ctx, input);
  for (const job of chosen) {
    if (job.resources)
      ctx.reporter.info(
        `job ${job.name}: resources are asked of a cluster (--executor slurm); the local executor ignores them`,
      );
  }
  const result: SpecRunResult = { file: input.file, jobs: [] };
  const failed = new Set<string>();
  for (const job of chosen) {
    const blocked = job.needs.find((n) => failed.has(n));
    if (blocked) {
      failed.add(job.name);
      result.jobs.push({ job: job.name, status: 'skipped', reason: `needs ${blocked}, which did not succeed` });
      continue;
    }
    const run = await runJob(ctx, job, { ...input, specFile: resolve(input.file), upstream });
    result.jobs.push(run);
    if (run.status !== 'succeeded') failed.add(job.name);
    for (const o of run.outputs) upstream.set(`${job.name}.${o.name}`, o.ref);
  }
  return result;
}

async function checkRef(ctx: AppContext, ref: string, offline: boolean | undefined): Promise<string> {
  await refreshForRead(ctx, ref, offline);
  const { dataset, version } = resolveRef(ctx, ref);
  return `${dataset.id}:${version.id}`;
}

async function latestOutput(
  ctx: AppContext,
  jobs: Map<string, JobSpec>,
  i: Extract<InputSpec, { kind: 'job' }>,
  input: { file: string; offline?: boolean },
): Promise<string> {
  const source = jobs.get(i.job)!.outputs.find((o) => o.name === i.output)!;
  let ref: string;
  try {
    ref = await checkRef(ctx, source.dataset, input.offline);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    throw new NotFoundError(
      `${i.job}.outputs.${i.output} has no committed version to read (${error.message}); run job ${i.job} first: strata jobs run --file ${input.file} --job ${i.job}`,
      error.code,
    );
  }
  ctx.reporter.info(
    `input ${i.name}: ${i.job}.outputs.${i.output} is ${source.dataset}:${ref.split(':')[1]}, the latest committed version of ${source.dataset} (job ${i.job} is not run with --job)`,
  );
  return ref;
}

/** A domain error about one line of the spec says which: `file:line: job J: input I: …`. */
export async function atLine<T>(where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof StrataError)) throw error;
    throw new StrataError(`${where}: ${error.message}`, error.code, error.exitCode, { cause: error });
  }
}
