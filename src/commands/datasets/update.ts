import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { updateDataset, type DatasetView } from '../../services/datasets.js';

export default class DatasetsUpdate extends StrataCommand<DatasetView> {
  static override summary = 'Rename a dataset or change its description';
  static override examples = [
    '<%= config.bin %> datasets update --id cifar10 --description "CIFAR-10, 60k 32x32 images"',
    '<%= config.bin %> datasets update --id dstabc123def456 --name cifar-10',
  ];
  static override flags = {
    id: Flags.string({ description: 'dataset id or name', required: true }),
    name: Flags.string({ description: 'new name' }),
    description: Flags.string({ description: 'new description' }),
  };

  protected async execute(): Promise<DatasetView> {
    const { flags } = await this.parse(DatasetsUpdate);
    return updateDataset(this.ctx, flags);
  }

  protected render(d: DatasetView): string {
    return `Updated dataset: ${d.id}`;
  }
}
