import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { formatBytes } from '../../../ui/table.js';
import { streamTable } from '../../../ui/stream-table.js';
import { listFiles, type FileListing } from '../../../services/file-reads.js';

export default class FilesList extends StrataCommand<Iterable<FileListing>> {
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

  private longestPath = 0;

  protected async execute(): Promise<Iterable<FileListing>> {
    const { flags } = await this.parse(FilesList);
    const { files, longestPath } = listFiles(this.ctx, flags);
    this.longestPath = longestPath;
    return this.jsonEnabled() ? [...files] : files;
  }

  /** Rows as they are read: a listing of a million files starts at once and holds none of them. */
  protected render(files: Iterable<FileListing>): Iterable<string> {
    const rows = (function* (): Generator<string[]> {
      for (const f of files) {
        yield [
          f.type === 'dir' ? `${f.path}/` : f.path,
          formatBytes(f.size),
          f.mode === undefined ? '' : f.mode.toString(8).padStart(4, '0'),
          f.mtime ?? '',
        ];
      }
    })();
    // Sizes print as at most "1023.9 KiB"; modification times as ISO 8601 UTC.
    return streamTable(['Name', 'Size', 'Mode', 'Modified'], [Math.max(4, this.longestPath + 1), 10, 4, 24], rows);
  }
}
