import type { JobResult } from '../services/jobs.js';
import type { SpecRunResult } from '../services/job-specs.js';
import type { SlurmSubmitResult } from '../services/slurm-submit.js';
import { table } from './table.js';

export function jobResultsText(results: SpecRunResult['jobs']): string {
  return table(
    ['Job', 'Run', 'Status', 'Exit', 'Outputs'],
    results.map((r) =>
      'runId' in r ? [r.job, r.runId, r.status, r.exitCode ?? '', outputsText(r)] : [r.job, '', r.status, '', r.reason],
    ),
  );
}

function outputsText(r: JobResult): string {
  return r.outputs
    .map((o) => `${o.name}: ${o.ref}${o.committed ? '' : ' (uncommitted)'}${o.tag ? ` [${o.tag}]` : ''}`)
    .join('\n');
}

export function submittedText(runs: SlurmSubmitResult['jobs']): string {
  return table(
    ['Job', 'Run', 'Slurm job', 'Status', 'Exit'],
    runs.map((r) => [r.job, r.runId, r.slurmJobId, r.status, r.exitCode ?? '']),
  );
}
