import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { createDataset, type DatasetView } from '../../services/datasets.js';

export default class DatasetsCreate extends StrataCommand<DatasetView> {
  static override summary = 'Create a dataset';
  static override examples = [
    '<%= config.bin %> datasets create --name cifar10',
    '<%= config.bin %> datasets create --name cifar10 --description "CIFAR-10, python pickles" --storageProviderId team-s3',
  ];
  static override flags = {
    name: Flags.string({ description: 'unique name: letters, digits, ".", "_", "-"', required: true }),
    description: Flags.string({ description: 'what the dataset holds' }),
    storageProviderId: Flags.string({ description: 'storage provider id or name (default: local)' }),
  };

  protected async execute(): Promise<DatasetView> {
    const { flags } = await this.parse(DatasetsCreate);
    return createDataset(this.ctx, flags);
  }

  protected render(d: DatasetView): string {
    return `Created dataset: ${d.id}`;
  }
}
