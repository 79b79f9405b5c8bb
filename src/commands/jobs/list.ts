import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { table } from '../../ui/table.js';
import { listJobRuns } from '../../services/slurm-runs.js';
import type { Run } from '../../core/model.js';

export default class JobsList extends StrataCommand<Run[]> {
  static override summary =
    'List job runs (a run whose runner died, or whose Slurm job is gone with no final record, shows as lost)';
  static override examples = [
    '<%= config.bin %> jobs list',
    '<%= config.bin %> jobs list --team',
    '<%= config.bin %> jobs list --json',
  ];
  static override flags = {
    team: Flags.boolean({
      description: 'also the runs teammates handed to Slurm, from the run records in the storage providers',
    }),
  };

  protected async execute(): Promise<Run[]> {
    const { flags } = await this.parse(JobsList);
    return listJobRuns(this.ctx, { team: flags.team });
  }

  protected render(runs: Run[]): string {
    return table(
      ['Run', 'Job', 'Status', 'Exit', 'Slurm job', 'Started', 'Ended'],
      runs.map((r) => [r.id, r.job, r.status, r.exitCode ?? '', r.slurmJobId ?? '', r.startedAt, r.endedAt ?? '']),
    );
  }
}
