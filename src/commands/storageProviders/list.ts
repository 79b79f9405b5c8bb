import { StrataCommand } from '../../ui/base-command.js';
import { table } from '../../ui/table.js';
import { listProviders, type ProviderView } from '../../services/providers.js';

export default class StorageProvidersList extends StrataCommand<ProviderView[]> {
  static override summary = 'List storage providers';
  static override examples = [
    '<%= config.bin %> storageProviders list',
    '<%= config.bin %> storageProviders list --json',
  ];

  protected async execute(): Promise<ProviderView[]> {
    await this.parse(StorageProvidersList);
    return listProviders(this.ctx);
  }

  protected render(providers: ProviderView[]): string {
    return table(
      ['Name', 'ID', 'Type', 'Location'],
      providers.map((p) => [p.name, p.id, p.type, describeLocation(p)]),
    );
  }
}

export function describeLocation(p: ProviderView): string {
  const c = p.config;
  if (p.type === 'local') return String(c.path);
  const prefix = c.prefix ? `/${String(c.prefix)}` : '';
  return `s3://${String(c.bucket)}${prefix}${c.endpoint ? ` @ ${String(c.endpoint)}` : ''}`;
}
