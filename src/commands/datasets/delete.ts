import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { deleteDataset, type DatasetView } from '../../services/datasets.js';

export default class DatasetsDelete extends StrataCommand<DatasetView> {
  static override summary = 'Delete a dataset';
  static override description =
    'A dataset that still holds versions needs --force. Its blobs stay in the storage provider until garbage collection removes the ones no version references.';
  static override examples = [
    '<%= config.bin %> datasets delete --id scratch',
    '<%= config.bin %> datasets delete --id dstabc123def456 --force',
  ];
  static override flags = {
    id: Flags.string({ description: 'dataset id or name', required: true }),
    force: Flags.boolean({ description: 'also delete its versions and tags' }),
  };

  protected async execute(): Promise<DatasetView> {
    const { flags } = await this.parse(DatasetsDelete);
    return deleteDataset(this.ctx, flags);
  }

  protected render(d: DatasetView): string {
    return `Deleted dataset: ${d.id}`;
  }
}
