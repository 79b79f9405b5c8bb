import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { details } from '../../ui/table.js';
import { providerDetails } from '../../services/providers.js';

type Result = ReturnType<typeof providerDetails>;

export default class StorageProvidersDetails extends StrataCommand<Result> {
  static override summary = 'Show a storage provider (secrets masked)';
  static override examples = [
    '<%= config.bin %> storageProviders details --id local',
    '<%= config.bin %> storageProviders details --id splabc123def456 --json',
  ];
  static override flags = {
    id: Flags.string({ description: 'storage provider id or name', required: true }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(StorageProvidersDetails);
    return providerDetails(this.ctx, flags.id);
  }

  protected render(p: Result): string {
    return details([
      ['Name', p.name],
      ['ID', p.id],
      ['Type', p.type],
      ...Object.entries(p.config).map(([k, v]): [string, string] => [k, String(v)]),
      ['Datasets', p.datasetCount],
      ['Created', p.createdAt],
    ]);
  }
}
