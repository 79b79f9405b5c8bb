import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { deleteVersion, type VersionView } from '../../../services/versions.js';

export default class VersionsDelete extends StrataCommand<VersionView> {
  static override hiddenAliases = singularAliases('datasets:versions:delete');
  static override summary = 'Delete a version';
  static override description =
    'An uncommitted version goes at once. A committed one needs --force and takes its tags with it; its blobs stay until garbage collection removes the unreferenced ones.';
  static override examples = [
    '<%= config.bin %> datasets versions delete --id cifar10:k3j9x0a',
    '<%= config.bin %> datasets versions delete --id cifar10:k3j9x0a --force',
  ];
  static override flags = {
    id: Flags.string({ description: 'DATASET:VERSION', required: true }),
    force: Flags.boolean({ description: 'delete a committed version and its tags' }),
  };

  protected async execute(): Promise<VersionView> {
    const { flags } = await this.parse(VersionsDelete);
    return deleteVersion(this.ctx, flags);
  }

  protected render(v: VersionView): string {
    return `Deleted dataset version: ${v.ref}`;
  }
}
