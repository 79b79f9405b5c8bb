import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { formatBytes, table } from '../../../ui/table.js';
import { listFiles, type FileListing } from '../../../services/file-reads.js';

export default class FilesList extends StrataCommand<FileListing[]> {
  static override hiddenAliases = singularAliases('datasets:files:list');
  static override summary = 'List the files of a version';
  static override examples = [
    '<%= config.bin %> datasets files list --id cifar10',
    '<%= config.bin %> datasets files list --id cifar10:prod --path /train --recursive',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref: DATASET[:VERSION|:TAG|:latest]', required: true }),
    path: Flags.string({ description: 'directory or file in the version', default: '/' }),
    recursive: Flags.boolean({ char: 'r', description: 'list everything below the path' }),
  };

  protected async execute(): Promise<FileListing[]> {
    const { flags } = await this.parse(FilesList);
    return listFiles(this.ctx, flags);
  }

  protected render(files: FileListing[]): string {
    return table(
      ['Name', 'Size', 'Mode', 'Modified'],
      files.map((f) => [
        f.type === 'dir' ? `${f.path}/` : f.path,
        formatBytes(f.size),
        f.mode === undefined ? '' : f.mode.toString(8).padStart(4, '0'),
        f.mtime ?? '',
      ]),
    );
  }
}
