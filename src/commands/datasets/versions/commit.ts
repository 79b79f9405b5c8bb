import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { commitVersion, type VersionView } from '../../../services/versions.js';

export default class VersionsCommit extends StrataCommand<VersionView> {
  static override hiddenAliases = singularAliases('datasets:versions:commit');
  static override summary = 'Commit a version: it never changes again';
  static override examples = ['<%= config.bin %> datasets versions commit --id cifar10:k3j9x0a'];
  static override flags = {
    id: Flags.string({ description: 'DATASET:VERSION', required: true }),
  };

  protected async execute(): Promise<VersionView> {
    const { flags } = await this.parse(VersionsCommit);
    return commitVersion(this.ctx, flags.id);
  }

  protected render(v: VersionView): string {
    return `Committed dataset version: ${v.ref}`;
  }
}
