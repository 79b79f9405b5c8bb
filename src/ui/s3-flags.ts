import * as Flags from '@oclif/core/flags';

/** Gradient's `storageProviders create s3` flags, plus the AWS credential chain and a prefix. */
export function s3Flags(required: boolean) {
  return {
    name: Flags.string({ description: 'unique name for the provider', required }),
    bucket: Flags.string({ description: 'bucket name', required }),
    prefix: Flags.string({ description: 'keep everything under this key prefix in the bucket' }),
    endpoint: Flags.string({
      description: 'S3-compatible endpoint URL (Ceph RGW, MinIO, Garage, Exoscale …); omit for AWS',
    }),
    region: Flags.string({ description: 'region (default us-east-1)' }),
    signatureVersion: Flags.string({ description: 'request signing: v4 (v2 is not supported)' }),
    accessKey: Flags.string({ description: 'access key id to store' }),
    secretAccessKey: Flags.string({
      description: 'secret access key to store (or set STRATA_S3_SECRET_ACCESS_KEY); never printed',
      env: 'STRATA_S3_SECRET_ACCESS_KEY',
    }),
    credentials: Flags.option({
      options: ['env'] as const,
      description: 'resolve credentials from the AWS default chain at each use instead of storing them',
    })(),
    profile: Flags.string({
      description: 'resolve credentials from this AWS profile (~/.aws/config, SSO) at each use',
    }),
    packs: Flags.boolean({
      description: 'store files below 1 MiB together in pack objects (docs/packs.md); --no-packs: each its own object',
      allowNo: true,
    }),
    verify: Flags.boolean({
      description: 'check the bucket is reachable with these credentials',
      default: true,
      allowNo: true,
    }),
  };
}
