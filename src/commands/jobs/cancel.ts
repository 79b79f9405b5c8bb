import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { details } from '../../ui/table.js';
import { cancelRun } from '../../services/slurm-runs.js';
import type { Run } from '../../core/model.js';

export default class JobsCancel extends StrataCommand<Run> {
  static override summary = 'Cancel a run submitted to Slurm (scancel); runs that need it are cancelled too';
  static override description =
    "Slurm sends the job SIGTERM, and its `jobs exec` makes a final sync within the cluster's KillWait: what the job wrote stays in an uncommitted version, to commit or resume from.";
  static override examples = ['<%= config.bin %> jobs cancel --id runabc123def456'];
  static override flags = { id: Flags.string({ description: 'run id', required: true }) };

  protected async execute(): Promise<Run> {
    const { flags } = await this.parse(JobsCancel);
    return cancelRun(this.ctx, flags.id, this.signal);
  }

  protected render(r: Run): string {
    return details([
      ['Run', r.id],
      ['Job', r.job],
      ['Slurm job', r.slurmJobId],
      ['Status', r.status],
    ]);
  }
}
