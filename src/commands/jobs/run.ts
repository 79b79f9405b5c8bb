import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { jobFlags, runnerOptions } from '../../ui/job-flags.js';
import { jobResultsText, submittedText } from '../../ui/job-render.js';
import { runSpec, type SpecRunResult } from '../../services/job-specs.js';
import type { SlurmSubmitResult } from '../../services/slurm-submit.js';
import { runOnSlurm } from '../../services/slurm-runs.js';
import { ExitCode, UsageError } from '../../core/errors.js';

export default class JobsRun extends StrataCommand<SpecRunResult | SlurmSubmitResult> {
  static override summary = 'Run the jobs of a spec file: dataset inputs in, synced outputs out as committed versions';
  static override description =
    'Jobs run in `needs` order; a failed job stops its dependants. Inputs appear read-only at /inputs/<name>, outputs are written to /outputs/<name> (or the STRATA_INPUT_<NAME>/STRATA_OUTPUT_<NAME> paths without namespaces), synced while the job runs and committed when it exits 0. With --executor slurm every job becomes one sbatch job running `strata jobs exec` on its node, `needs` as afterok dependencies; the command returns once all are submitted (or, with --wait, once all have ended).';
  static override examples = [
    '<%= config.bin %> jobs run --file job.yaml',
    '<%= config.bin %> jobs run --file job.yaml --job train',
    '<%= config.bin %> jobs run --file job.yaml --executor slurm --partition gpu --wait',
    '<%= config.bin %> jobs run --file job.yaml --executor slurm --sbatch-arg=--account=ml --credentials-file ~/.strata-node-credentials',
  ];
  static override flags = {
    file: Flags.string({ char: 'f', description: 'job spec (YAML)', required: true }),
    job: Flags.string({
      description: 'run only this job; JOB.outputs.X inputs then read the latest committed version of that output',
    }),
    executor: Flags.option({
      options: ['local', 'slurm'] as const,
      default: 'local' as const,
      description: 'local: run here; slurm: submit every job to Slurm with sbatch',
    })(),
    partition: Flags.string({ description: 'Slurm partition (--executor slurm)' }),
    'sbatch-arg': Flags.string({
      description: 'an sbatch option passed as it is, e.g. --sbatch-arg=--account=ml',
      multiple: true,
    }),
    wait: Flags.boolean({
      description: 'with --executor slurm: follow the runs to their end and exit as the local executor does',
    }),
    'node-command': Flags.string({
      description: 'how a Slurm node starts Strata (default: this Node and this install, on a path the nodes share)',
    }),
    'node-home': Flags.string({
      description: "the nodes' STRATA_HOME (default: a directory of its own per Slurm job under $TMPDIR)",
    }),
    'credentials-file': Flags.string({
      description:
        'an AWS credentials file (mode 0600) the nodes read for an S3 provider; only its path goes through Slurm',
    }),
    ...jobFlags,
  };

  protected async execute(): Promise<SpecRunResult | SlurmSubmitResult> {
    const { flags } = await this.parse(JobsRun);
    const options = runnerOptions(flags, this.jsonEnabled(), this.signal);
    const slurmOnly = ['partition', 'sbatch-arg', 'wait', 'node-command', 'node-home', 'credentials-file'] as const;
    const misplaced = slurmOnly.find((f) => flags[f] !== undefined && flags[f] !== false);
    if (flags.executor === 'local' && misplaced)
      throw new UsageError(
        `--${misplaced} is for --executor slurm; the local executor runs the jobs here, to their end`,
      );
    const result =
      flags.executor === 'slurm'
        ? await runOnSlurm(this.ctx, {
            file: flags.file,
            job: flags.job,
            partition: flags.partition,
            sbatchArgs: flags['sbatch-arg'] ?? [],
            nodeCommand: flags['node-command'],
            nodeHome: flags['node-home'],
            credentialsFile: flags['credentials-file'],
            wait: flags.wait,
            ...options,
          })
        : await runSpec(this.ctx, { file: flags.file, job: flags.job, ...options });
    if ('executor' in result ? result.failed : result.jobs.some((j) => j.status !== 'succeeded'))
      process.exitCode = ExitCode.jobFailed;
    return result;
  }

  protected render(r: SpecRunResult | SlurmSubmitResult): string {
    return 'executor' in r ? submittedText(r.jobs) : jobResultsText(r.jobs);
  }
}
