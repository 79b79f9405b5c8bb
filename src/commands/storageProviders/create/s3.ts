import { StrataCommand } from '../../../ui/base-command.js';
import { s3Flags } from '../../../ui/s3-flags.js';
import { createS3Provider, type ProviderView } from '../../../services/providers.js';

export default class StorageProvidersCreateS3 extends StrataCommand<ProviderView> {
  static override summary = 'Add an S3 or S3-compatible bucket as a storage provider';
  static override description =
    'The bucket is checked with the given credentials before the provider is recorded (--no-verify skips that). Custom endpoints use path-style addressing.';
  static override examples = [
    '<%= config.bin %> storageProviders create s3 --name team --bucket ml-datasets --accessKey AKIA… --secretAccessKey …',
    '<%= config.bin %> storageProviders create s3 --name ceph --bucket data --endpoint http://rgw.lan:7480 --accessKey … --secretAccessKey …',
    '<%= config.bin %> storageProviders create s3 --name aws --bucket ml-datasets --region eu-west-1 --credentials env',
    '<%= config.bin %> storageProviders create s3 --name sso --bucket ml-datasets --profile research',
  ];
  static override flags = s3Flags(true);

  protected async execute(): Promise<ProviderView> {
    const { flags } = await this.parse(StorageProvidersCreateS3);
    return createS3Provider(this.ctx, flags);
  }

  protected render(p: ProviderView): string {
    return `Created storage provider: ${p.id}`;
  }
}
