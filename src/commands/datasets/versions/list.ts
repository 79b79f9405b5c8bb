import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { formatBytes, table } from '../../../ui/table.js';
import { listVersions, type VersionView } from '../../../services/versions.js';

export default class VersionsList extends StrataCommand<VersionView[]> {
  static override hiddenAliases = singularAliases('datasets:versions:list');
  static override summary = 'List the versions of a dataset';
  static override examples = [
    '<%= config.bin %> datasets versions list --id cifar10',
    '<%= config.bin %> datasets versions list --id cifar10 --isCommitted --json',
  ];
  static override flags = {
    id: Flags.string({ description: 'dataset id or name', required: true }),
    isCommitted: Flags.boolean({
      description: 'only committed versions (--no-isCommitted: only open ones)',
      allowNo: true,
    }),
  };

  protected async execute(): Promise<VersionView[]> {
    const { flags } = await this.parse(VersionsList);
    return listVersions(this.ctx, flags);
  }

  protected render(versions: VersionView[]): string {
    return table(
      ['ID', 'Message', 'Committed', 'Tags', 'Files', 'Size', 'Created'],
      versions.map((v) => [
        v.ref,
        v.message,
        String(v.isCommitted),
        v.tags.join(', '),
        v.fileCount,
        formatBytes(v.size),
        v.createdAt,
      ]),
    );
  }
}
