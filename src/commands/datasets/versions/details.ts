import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { versionDetailsText } from '../../../ui/version-render.js';
import { versionDetails } from '../../../services/versions.js';

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
    return versionDetails(this.ctx, flags.id);
  }

  protected render(v: Result): string {
    return versionDetailsText(v);
  }
}
