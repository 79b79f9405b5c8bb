import { Flags } from '@oclif/core';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { formatBytes } from '../../../ui/table.js';
import { getFromVersion } from '../../../services/files.js';

type Result = Awaited<ReturnType<typeof getFromVersion>>;

export default class FilesGet extends StrataCommand<Result> {
  static override hiddenAliases = singularAliases('datasets:files:get');
  static override summary = 'Write the files of a version into a directory, verified';
  static override description =
    'Every file is checked against its sha256 before it appears; its mode and mtime are restored. Paths keep their place in the version under the target.';
  static override examples = [
    '<%= config.bin %> datasets files get --id cifar10:prod --target-path ./cifar10',
    '<%= config.bin %> datasets files get --id cifar10 --source-path /train --target-path ./data',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref: DATASET[:VERSION|:TAG|:latest]', required: true }),
    'target-path': Flags.string({ description: 'directory to write into', required: true }),
    'source-path': Flags.string({
      description: 'only this file or directory of the version (repeatable)',
      multiple: true,
    }),
    concurrency: Flags.integer({ description: 'transfers in flight', min: 1, max: 512 }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(FilesGet);
    return getFromVersion(this.ctx, {
      id: flags.id,
      targetPath: flags['target-path'],
      sourcePaths: flags['source-path'],
      concurrency: flags.concurrency,
      progress: this.progress('get'),
      signal: this.signal,
    });
  }

  protected render(r: Result): string {
    return `Got ${r.files} file(s), ${formatBytes(r.bytes)} from ${r.ref} into ${r.target} in ${r.seconds.toFixed(1)} s`;
  }
}
