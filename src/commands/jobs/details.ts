import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { details } from '../../ui/table.js';
import { namedRef, runInputText } from '../../ui/version-render.js';
import type { RunDetails } from '../../services/runs.js';
import { jobRunDetails } from '../../services/slurm-runs.js';

export default class JobsDetails extends StrataCommand<RunDetails> {
  static override summary = 'Show a run: command, exit code, times, exact input versions, output versions, log';
  static override examples = ['<%= config.bin %> jobs details --id runabc123def456'];
  static override flags = { id: Flags.string({ description: 'run id', required: true }) };

  protected async execute(): Promise<RunDetails> {
    const { flags } = await this.parse(JobsDetails);
    return jobRunDetails(this.ctx, flags.id);
  }

  protected render(r: RunDetails): string {
    return details([
      ['Run', r.id],
      ['Job', r.job],
      ['Spec', r.specFile],
      ['Command', r.command],
      ['Status', r.status],
      ...(r.slurmJobId ? [['Slurm job', r.slurmJobId] as [string, string]] : []),
      ['Exit code', r.exitCode],
      ['Isolation', r.isolation],
      ['Started', r.startedAt],
      ['Ended', r.endedAt],
      ['Inputs', r.inputs.map(runInputText).join('\n')],
      [
        'Outputs',
        r.outputs
          .map((o) => {
            const ref = namedRef({ ref: `${o.datasetId}:${o.versionId}`, dataset: o.datasetName });
            return `${o.name}: ${ref}${o.committed ? '' : ', uncommitted'}`;
          })
          .join('\n'),
      ],
      ['Log', r.logPath],
    ]);
  }
}
