import { hostname } from 'node:os';
import type { AppContext } from './context.js';
import type { Provenance, Run, RunInput, RunOutput } from '../core/model.js';
import { NotFoundError } from '../core/errors.js';

/**
 * A run still marked running whose runner process is gone (on this host) was lost: its runner
 * was killed before it could record the end. The watchdog has killed the job itself.
 */
function settle(ctx: AppContext, run: Run): Run {
  if (run.status !== 'running' || run.host !== hostname()) return run;
  try {
    process.kill(run.runnerPid, 0);
    return run;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') return run;
  }
  ctx.catalog.runs.markLost(run.id);
  return { ...run, status: 'lost' };
}

export function listRuns(ctx: AppContext): Run[] {
  return ctx.catalog.runs.list().map((r) => settle(ctx, r));
}

/** A run's input or output with its dataset's name beside the id (null: no dataset, or deleted since). */
export type Named<T> = T & { datasetName: string | null };

export type NamedRunInput = Named<RunInput>;

export interface RunDetails extends Run {
  inputs: NamedRunInput[];
  outputs: Named<RunOutput>[];
}

export function runDetails(ctx: AppContext, id: string): RunDetails {
  const run = ctx.catalog.runs.get(id);
  if (!run) throw new NotFoundError(`no run "${id}"; see: strata jobs list`, 'ENORUN');
  const { runs } = ctx.catalog;
  return { ...settle(ctx, run), inputs: named(ctx, runs.inputs(id)), outputs: named(ctx, runs.outputs(id)) };
}

/**
 * Where a version came from, when a job made it: as its manifest says, kept in the catalog at
 * commit and by sync (a version committed here before manifests carried it: as this machine's run
 * records said, catalog migration 9).
 */
export function provenanceOf(ctx: AppContext, datasetId: string, versionId: string): Provenance | undefined {
  return ctx.catalog.datasets.provenance(datasetId, versionId);
}

/**
 * The provenance of the run that wrote an uncommitted version, for its manifest: a job's output
 * committed by hand after the job failed still says where its files came from.
 */
export function producerProvenance(ctx: AppContext, datasetId: string, versionId: string): Provenance | undefined {
  const runId = ctx.catalog.runs.producerOf(datasetId, versionId);
  return runId === undefined ? undefined : runProvenance(ctx, runId);
}

/** A run's provenance as this catalog records it; `ending`: the run is ending now with this exit code. */
export function runProvenance(
  ctx: AppContext,
  runId: string,
  ending?: { exitCode: number | null },
): Provenance | undefined {
  const run = ctx.catalog.runs.get(runId);
  if (!run) return undefined;
  return {
    runId: run.id,
    job: run.job,
    command: run.command,
    exitCode: ending ? ending.exitCode : run.exitCode,
    startedAt: run.startedAt,
    endedAt: ending ? new Date().toISOString() : run.endedAt,
    inputs: named(ctx, ctx.catalog.runs.inputs(run.id)),
  };
}

function named<T extends { datasetId: string | null }>(ctx: AppContext, items: T[]): Named<T>[] {
  return items.map((i) => ({
    ...i,
    datasetName: i.datasetId === null ? null : (ctx.catalog.datasets.get(i.datasetId)?.name ?? null),
  }));
}
