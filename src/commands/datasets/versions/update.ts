import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { updateVersion, type VersionView } from '../../../services/versions.js';

export default class VersionsUpdate extends StrataCommand<VersionView> {
  static override hiddenAliases = singularAliases('datasets:versions:update');
  static override summary = "Change an uncommitted version's message";
  static override description =
    'The message is part of the committed manifest, so a committed version keeps its message.';
  static override examples = ['<%= config.bin %> datasets versions update --id cifar10:k3j9x0a --message "dedup pass"'];
  static override flags = {
    id: Flags.string({ description: 'DATASET:VERSION', required: true }),
    message: Flags.string({ description: 'new message', required: true }),
  };

  protected async execute(): Promise<VersionView> {
    const { flags } = await this.parse(VersionsUpdate);
    return updateVersion(this.ctx, flags);
  }

  protected render(v: VersionView): string {
    return `Updated dataset version: ${v.ref}`;
  }
}
