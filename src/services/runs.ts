import { hostname } from 'node:os';
import type { AppContext } from './context.js';
import type { Run, RunInput, RunOutput } from '../catalog/runs.js';
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

export interface RunDetails extends Run {
  inputs: RunInput[];
  outputs: RunOutput[];
}

export function runDetails(ctx: AppContext, id: string): RunDetails {
  const run = ctx.catalog.runs.get(id);
  if (!run) throw new NotFoundError(`no run "${id}"; see: strata jobs list`, 'ENORUN');
  return { ...settle(ctx, run), inputs: ctx.catalog.runs.inputs(id), outputs: ctx.catalog.runs.outputs(id) };
}

/** Where a version came from, when a job made it: the run and the exact input versions. */
export function provenanceOf(
  ctx: AppContext,
  datasetId: string,
  versionId: string,
): { runId: string; job: string; inputs: RunInput[] } | undefined {
  const runId = ctx.catalog.runs.producerOf(datasetId, versionId);
  const run = runId === undefined ? undefined : ctx.catalog.runs.get(runId);
  if (!run) return undefined;
  return { runId: run.id, job: run.job, inputs: ctx.catalog.runs.inputs(run.id) };
}
