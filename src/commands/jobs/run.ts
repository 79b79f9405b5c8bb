import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { jobFlags, runnerOptions } from '../../ui/job-flags.js';
import { jobResultsText } from '../../ui/job-render.js';
import { runSpec, type SpecRunResult } from '../../services/job-specs.js';
import { ExitCode } from '../../core/errors.js';

export default class JobsRun extends StrataCommand<SpecRunResult> {
  static override summary = 'Run the jobs of a spec file: dataset inputs in, synced outputs out as committed versions';
  static override description =
    'Jobs run in `needs` order; a failed job stops its dependants. Inputs appear read-only at /inputs/<name>, outputs are written to /outputs/<name> (or the STRATA_INPUT_<NAME>/STRATA_OUTPUT_<NAME> paths without namespaces), synced while the job runs and committed when it exits 0.';
  static override examples = [
    '<%= config.bin %> jobs run --file job.yaml',
    '<%= config.bin %> jobs run --file job.yaml --job train',
  ];
  static override flags = {
    file: Flags.string({ char: 'f', description: 'job spec (YAML)', required: true }),
    job: Flags.string({
      description: 'run only this job; JOB.outputs.X inputs then read the latest committed version of that output',
    }),
    ...jobFlags,
  };

  protected async execute(): Promise<SpecRunResult> {
    const { flags } = await this.parse(JobsRun);
    const result = await runSpec(this.ctx, {
      file: flags.file,
      job: flags.job,
      ...runnerOptions(flags, this.jsonEnabled(), this.signal),
    });
    if (result.jobs.some((j) => j.status !== 'succeeded')) process.exitCode = ExitCode.jobFailed;
    return result;
  }

  protected render(r: SpecRunResult): string {
    return jobResultsText(r.jobs);
  }
}
