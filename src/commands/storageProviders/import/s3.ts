import { StrataCommand } from '../../../ui/base-command.js';
import { s3Flags } from '../../../ui/s3-flags.js';
import { importS3Provider } from '../../../services/sync.js';

type Result = Awaited<ReturnType<typeof importS3Provider>>;

export default class StorageProvidersImportS3 extends StrataCommand<Result> {
  static override summary = 'Attach a bucket that already holds Strata data and index its datasets, versions and tags';
  static override examples = [
    '<%= config.bin %> storageProviders import s3 --name team --bucket ml-datasets --endpoint http://rgw.lan:7480 --accessKey … --secretAccessKey …',
  ];
  static override flags = s3Flags(true);

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(StorageProvidersImportS3);
    return importS3Provider(this.ctx, flags);
  }

  protected render(r: Result): string {
    return `Created storage provider: ${r.provider.id}\nImported ${r.sync.datasets.added} dataset(s), ${r.sync.versions.added} version(s), ${r.sync.tags.set} tag(s)`;
  }
}
