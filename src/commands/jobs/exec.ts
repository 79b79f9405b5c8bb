import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { jobFlags, runnerOptions } from '../../ui/job-flags.js';
import { jobResultsText } from '../../ui/job-render.js';
import { execJob, type JobResult } from '../../services/jobs.js';
import { execSubmitted } from '../../services/slurm-node.js';
import { ExitCode, UsageError } from '../../core/errors.js';

export default class JobsExec extends StrataCommand<JobResult> {
  static override summary = 'Run one command with dataset inputs and outputs (inside a container or a cluster task)';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> jobs exec --input data=cifar10:prod --output ckpt=checkpoints,sync=30s -- python train.py',
    '<%= config.bin %> jobs exec --input data=cifar10 --output ckpt=checkpoints --resume-from ckpt=checkpoints:k3j9x0a -- python train.py --resume',
  ];
  static override flags = {
    input: Flags.string({
      description: 'NAME=REF (or NAME=https://…): appears read-only at /inputs/NAME',
      multiple: true,
    }),
    output: Flags.string({
      description: 'NAME=DATASET[:TAG][,sync=30s|off][,deleteSync=false]: /outputs/NAME becomes a committed version',
      multiple: true,
    }),
    logs: Flags.string({ description: 'DATASET[:TAG]: keep the log as a version too (synced every 10 s)' }),
    'resume-from': Flags.string({ description: 'NAME=REF: start output NAME from the files of REF', multiple: true }),
    // Set by `jobs run --executor slurm` in the batch scripts it submits; not for people.
    'run-id': Flags.string({ hidden: true, dependsOn: ['record-provider'] }),
    'record-provider': Flags.string({ hidden: true, dependsOn: ['run-id'] }),
    'input-run': Flags.string({ hidden: true, multiple: true, dependsOn: ['run-id'] }),
    ...jobFlags,
  };

  protected async execute(): Promise<JobResult> {
    const { flags, argv } = await this.parse(JobsExec);
    const command = argv as string[];
    if (command.length === 0)
      throw new UsageError('give the command after --, e.g. strata jobs exec --output o=ds -- python train.py');
    const resumeFrom: Record<string, string> = {};
    for (const r of flags['resume-from'] ?? []) {
      const at = r.indexOf('=');
      if (at <= 0) throw new UsageError(`--resume-from ${r}: expected NAME=REF`);
      resumeFrom[r.slice(0, at)] = r.slice(at + 1);
    }
    const input = {
      inputs: flags.input ?? [],
      outputs: flags.output ?? [],
      logs: flags.logs,
      argv: command,
      resumeFrom,
      ...runnerOptions(flags, this.jsonEnabled(), this.signal),
    };
    const result =
      flags['run-id'] && flags['record-provider']
        ? await execSubmitted(this.ctx, {
            ...input,
            runId: flags['run-id'],
            recordProvider: flags['record-provider'],
            inputRuns: flags['input-run'] ?? [],
          })
        : await execJob(this.ctx, input);
    // The job's own exit code is in the result: Strata's says which class of thing happened.
    if (result.status !== 'succeeded') process.exitCode = ExitCode.jobFailed;
    return result;
  }

  protected render(r: JobResult): string {
    return jobResultsText([r]);
  }
}
