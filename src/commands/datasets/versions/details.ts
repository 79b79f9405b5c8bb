import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { versionDetailsText } from '../../../ui/version-render.js';
import type { versionDetails } from '../../../services/versions.js';
import { versionDetailsNow } from '../../../services/slurm-runs.js';

type Result = ReturnType<typeof versionDetails>;

export default class VersionsDetails extends StrataCommand<Result> {
  static override hiddenAliases = singularAliases('datasets:versions:details');
  static override summary = 'Show a version: message, state, tags, file count, size, times';
  static override examples = [
    '<%= config.bin %> datasets versions details --id cifar10:latest',
    '<%= config.bin %> datasets versions details --id dstabc123def456:k3j9x0a --json',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref: DATASET[:VERSION|:TAG|:latest]', required: true }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(VersionsDetails);
    return versionDetailsNow(this.ctx, flags.id);
  }

  protected render(v: Result): string {
    return versionDetailsText(v);
  }
}
