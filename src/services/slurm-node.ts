import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { AppContext } from './context.js';
import { EnvironmentError, NotFoundError, UsageError } from '../core/errors.js';
import { newProviderId } from '../core/ids.js';
import type { Provider } from '../core/model.js';
import { execJob, type ExecInput, type JobResult } from './jobs.js';
import { syncProvider } from './sync.js';
import { parseLocator, readRunDoc, writeRunDoc, type ProviderLocator } from './run-records.js';
import type { RunDoc } from '../storage/run-doc.js';

export interface SubmittedExecInput extends ExecInput {
  runId: string;
  /** the provider whose bucket holds the run's record (JSON, see ProviderLocator) */
  recordProvider: string;
  /** NAME=RUN/OUTPUT: the version an upstream run of the same submission committed */
  inputRuns: string[];
}

/**
 * `jobs exec` of a run submitted to Slurm, on its node, in the node's own STRATA_HOME: the provider
 * found by its place (credentials from this node), the run's record read (for a local provider it
 * is the marker that the directory is shared), upstream outputs resolved from their runs' records
 * now, and the record kept up to date — running, its output versions, how it ended.
 */
export async function execSubmitted(ctx: AppContext, input: SubmittedExecInput): Promise<JobResult> {
  const locator = parseLocator(input.recordProvider);
  const provider = await nodeProvider(ctx, locator);
  const record = await readRunDoc(ctx, provider, input.runId);
  if (!record) {
    if (locator.type === 'local')
      throw new EnvironmentError(
        `the local storage provider directory ${locator.path} is not the submitter's on node ${hostname()} (no record of run ${input.runId} in it): put it on a path every node shares`,
        'ENOTSHARED',
      );
    throw new NotFoundError(`run ${input.runId} has no record in ${(await ctx.backend(provider)).location}`, 'ENORUN');
  }
  const base = { id: record.id, job: record.job, command: record.command };
  const slurmJobId = ctx.env.SLURM_JOB_ID ?? null;
  let terminated = false;
  const stop = new AbortController();
  const onTerm = (): void => {
    terminated = true;
    stop.abort();
  };
  // Slurm's scancel (or a time limit) sends SIGTERM, then SIGKILL after KillWait: end with a final sync.
  process.on('SIGTERM', onTerm);
  try {
    await syncProvider(ctx, provider);
    const inputs = [...input.inputs];
    for (const spec of input.inputRuns) inputs.push(await upstreamInput(ctx, provider, spec));
    const started = new Date().toISOString();
    const running = { ...base, status: 'running' as const, slurmJobId, host: hostname(), startedAt: started };
    await writeRunDoc(ctx, provider, running);
    const result = await execJob(ctx, {
      ...input,
      inputs,
      runId: input.runId,
      // The run, and the provenance of what it makes, name the spec's job, not "exec".
      jobName: record.job,
      stopped: () => terminated,
      signal: input.signal ? AbortSignal.any([input.signal, stop.signal]) : stop.signal,
      onOutputs: async (outputs) => {
        await writeRunDoc(ctx, provider, { ...running, outputs: outputs.map(runOutput) });
      },
    });
    await writeRunDoc(ctx, provider, {
      ...running,
      status: terminated && result.status !== 'succeeded' ? 'cancelled' : result.status,
      exitCode: result.exitCode,
      endedAt: new Date().toISOString(),
      inputs: ctx.catalog.runs.inputs(input.runId),
      outputs: result.outputs.map(runOutput),
    });
    return result;
  } catch (error) {
    await writeRunDoc(ctx, provider, {
      ...base,
      status: terminated ? 'cancelled' : 'failed',
      slurmJobId,
      host: hostname(),
      endedAt: new Date().toISOString(),
    }).catch(() => undefined);
    throw error;
  } finally {
    process.removeListener('SIGTERM', onTerm);
  }
}

const runOutput = (o: { name: string; ref: string; committed: boolean }): RunDoc['outputs'][number] => {
  const [datasetId, versionId] = o.ref.split(':');
  return { name: o.name, datasetId: datasetId!, versionId: versionId!, committed: o.committed };
};

/** `NAME=RUN/OUTPUT` → `NAME=DATASET_ID:VERSION`, the version that run committed. */
async function upstreamInput(ctx: AppContext, provider: Provider, spec: string): Promise<string> {
  const m = /^([A-Za-z0-9_-]+)=(run[a-z0-9]{12})\/([A-Za-z0-9_-]+)$/.exec(spec);
  if (!m) throw new UsageError(`--input-run ${spec}: expected NAME=RUN/OUTPUT`);
  const [, name, runId, output] = m;
  const doc = await readRunDoc(ctx, provider, runId!);
  const made = doc?.outputs.find((o) => o.name === output);
  if (!doc || doc.status !== 'succeeded' || !made?.committed) {
    throw new NotFoundError(
      `input ${name}: run ${runId}${doc ? ` (job ${doc.job}, ${doc.status})` : ''} has committed no output ${output}`,
      'ENOVERSION',
    );
  }
  return `${name}=${made.datasetId}:${made.versionId}`;
}

/** This node's provider for the locator: one it has for the same place, or a new one. */
async function nodeProvider(ctx: AppContext, l: ProviderLocator): Promise<Provider> {
  if (l.type === 's3' && l.credentialsFile) {
    const info = await stat(l.credentialsFile).catch(() => undefined);
    if (!info?.isFile())
      throw new NotFoundError(`credentials file ${l.credentialsFile} is not on node ${hostname()}`, 'ENOCREDENTIALS');
    if ((info.mode & 0o077) !== 0)
      throw new UsageError(`credentials file ${l.credentialsFile} is readable by others: chmod 600 it`, 'ECREDENTIALS');
    // The SDK reads the profile from this file; nothing of it goes into this node's catalog.
    process.env.AWS_SHARED_CREDENTIALS_FILE = l.credentialsFile;
  }
  const same = ctx.catalog.providers
    .list()
    .find((p) =>
      l.type === 'local'
        ? p.type === 'local' && p.config.path === l.path
        : p.type === 's3' &&
          p.config.bucket === l.bucket &&
          (p.config.prefix ?? '') === (l.prefix ?? '') &&
          (p.config.endpoint ?? '') === (l.endpoint ?? ''),
    );
  if (same) return same;
  const id = newProviderId();
  const provider: Provider =
    l.type === 'local'
      ? {
          id,
          name: `slurm-${id.slice(3)}`,
          type: 'local',
          config: { path: l.path },
          createdAt: new Date().toISOString(),
        }
      : {
          id,
          name: `slurm-${id.slice(3)}`,
          type: 's3',
          config: {
            bucket: l.bucket,
            ...(l.prefix ? { prefix: l.prefix } : {}),
            ...(l.endpoint ? { endpoint: l.endpoint } : {}),
            region: l.region,
            signatureVersion: 'v4',
            ...(l.profile || l.credentialsFile
              ? { credentials: 'profile' as const, profile: l.profile ?? 'default' }
              : { credentials: 'env' as const }),
          },
          createdAt: new Date().toISOString(),
        };
  ctx.catalog.providers.insert(provider);
  return provider;
}
