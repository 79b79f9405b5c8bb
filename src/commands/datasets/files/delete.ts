import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { deleteFiles } from '../../../services/files.js';

type Result = Awaited<ReturnType<typeof deleteFiles>>;

export default class FilesDelete extends StrataCommand<Result> {
  static override hiddenAliases = singularAliases('datasets:files:delete');
  static override summary = 'Remove files or directories from an uncommitted version';
  static override examples = [
    '<%= config.bin %> datasets files delete --id cifar10:k3j9x0a --path /train/bad.png',
    '<%= config.bin %> datasets files delete --id cifar10:k3j9x0a --path /',
  ];
  static override flags = {
    id: Flags.string({ description: 'DATASET:VERSION (uncommitted)', required: true }),
    path: Flags.string({
      description: 'file or directory to remove (repeatable; "/" removes everything)',
      multiple: true,
      required: true,
    }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(FilesDelete);
    return deleteFiles(this.ctx, { id: flags.id, paths: flags.path });
  }

  protected render(r: Result): string {
    return `Deleted ${r.deleted} file(s) from ${r.ref}`;
  }
}
