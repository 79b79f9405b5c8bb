import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { details } from '../../ui/table.js';
import { datasetDetails } from '../../services/datasets.js';

type Result = ReturnType<typeof datasetDetails>;

export default class DatasetsDetails extends StrataCommand<Result> {
  static override summary = 'Show a dataset';
  static override examples = [
    '<%= config.bin %> datasets details --id cifar10',
    '<%= config.bin %> datasets details --id dstabc123def456 --json',
  ];
  static override flags = {
    id: Flags.string({ description: 'dataset id or name', required: true }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(DatasetsDetails);
    return datasetDetails(this.ctx, flags.id);
  }

  protected render(d: Result): string {
    return details([
      ['Name', d.name],
      ['ID', d.id],
      ['Description', d.description],
      ['Storage Provider', `${d.storageProviderName} (${d.storageProviderId})`],
      ['Versions', `${d.versionCount} (${d.committedVersionCount} committed)`],
      ['Tags', d.tags.join(', ')],
      ['Created', d.createdAt],
      ['Updated', d.updatedAt],
    ]);
  }
}
