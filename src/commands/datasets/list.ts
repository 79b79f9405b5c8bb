import { StrataCommand } from '../../ui/base-command.js';
import { table } from '../../ui/table.js';
import { listDatasets, type DatasetView } from '../../services/datasets.js';

export default class DatasetsList extends StrataCommand<DatasetView[]> {
  static override summary = 'List datasets';
  static override examples = ['<%= config.bin %> datasets list', '<%= config.bin %> datasets list --json'];

  protected async execute(): Promise<DatasetView[]> {
    await this.parse(DatasetsList);
    return listDatasets(this.ctx);
  }

  protected render(datasets: DatasetView[]): string {
    return table(
      ['Name', 'ID', 'Storage Provider'],
      datasets.map((d) => [d.name, d.id, `${d.storageProviderName} (${d.storageProviderId})`]),
    );
  }
}
