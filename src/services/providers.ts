import { checkFormat } from './packs.js';
import { LOCAL_PROVIDER_NAME, openBackend, type AppContext } from './context.js';
import type { Provider, S3ProviderConfig } from '../core/model.js';
import { ConflictError, UsageError } from '../core/errors.js';
import { newProviderId } from '../core/ids.js';
import { validateProviderName } from '../core/refs.js';
import { supportsConditionalWrites } from '../storage/probe.js';
import { findProvider } from './resolve.js';

/** A provider as shown to a person or a script: secrets masked, never whole. */
export interface ProviderView {
  id: string;
  name: string;
  type: Provider['type'];
  createdAt: string;
  config: Record<string, unknown>;
}

export function maskSecret(secret: string | undefined): string | undefined {
  if (!secret) return secret;
  return secret.length <= 8 ? '****' : `${secret.slice(0, 2)}****${secret.slice(-2)}`;
}

export function viewProvider(provider: Provider): ProviderView {
  const config: Record<string, unknown> = { ...provider.config };
  if (provider.type === 's3' && provider.config.secretAccessKey) {
    config.secretAccessKey = maskSecret(provider.config.secretAccessKey);
  }
  return { id: provider.id, name: provider.name, type: provider.type, createdAt: provider.createdAt, config };
}

export function listProviders(ctx: AppContext): ProviderView[] {
  return ctx.catalog.providers.list().map(viewProvider);
}

export function providerDetails(ctx: AppContext, idOrName: string): ProviderView & { datasetCount: number } {
  const provider = findProvider(ctx, idOrName);
  return { ...viewProvider(provider), datasetCount: ctx.catalog.providers.datasetCount(provider.id) };
}

export interface S3ProviderInput {
  name?: string;
  bucket?: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  signatureVersion?: string;
  accessKey?: string;
  secretAccessKey?: string;
  credentials?: 'env';
  profile?: string;
  packs?: boolean;
  verify?: boolean;
}

/**
 * Adds an S3 provider. Credentials are stored keys, the AWS default chain (`credentials: env`:
 * environment, ~/.aws files, SSO, instance roles as the SDK resolves them) or a named profile.
 * Unless told not to, the bucket is checked with these credentials before anything is recorded.
 */
export async function createS3Provider(ctx: AppContext, input: S3ProviderInput): Promise<ProviderView> {
  if (!input.name) throw new UsageError('--name is required');
  if (!input.bucket) throw new UsageError('--bucket is required');
  validateProviderName(input.name);
  assertProviderNameFree(ctx, input.name);
  const config = s3Config(input, undefined);
  const provider: Provider = {
    id: newProviderId(),
    name: input.name,
    type: 's3',
    config,
    createdAt: new Date().toISOString(),
  };
  if (input.verify !== false) await verifyProvider(ctx, provider);
  ctx.catalog.providers.insert(provider);
  return viewProvider(provider);
}

export async function updateS3Provider(ctx: AppContext, id: string, input: S3ProviderInput): Promise<ProviderView> {
  const current = findProvider(ctx, id);
  if (current.type !== 's3') throw new UsageError(`storage provider ${current.name} is not an S3 provider`);
  if (input.name !== undefined && input.name !== current.name) {
    validateProviderName(input.name);
    assertProviderNameFree(ctx, input.name);
  }
  const config = s3Config(input, current.config);
  const moved = config.bucket !== current.config.bucket || (config.prefix ?? '') !== (current.config.prefix ?? '');
  const used = ctx.catalog.providers.datasetCount(current.id);
  if (moved && used > 0) {
    throw new ConflictError(
      `storage provider ${current.name} holds ${used} dataset(s); changing its bucket or prefix would orphan them`,
      'EPROVIDERINUSE',
    );
  }
  const updated: Provider = { ...current, name: input.name ?? current.name, config };
  if (input.verify !== false) await verifyProvider(ctx, updated);
  ctx.catalog.providers.update(updated);
  ctx.catalog.files.forgetProviderBlobs(updated.id);
  return viewProvider(updated);
}

export function deleteProvider(ctx: AppContext, id: string): ProviderView {
  const provider = findProvider(ctx, id);
  if (provider.name === LOCAL_PROVIDER_NAME && provider.type === 'local') {
    throw new ConflictError('the built-in local storage provider cannot be deleted', 'EPROVIDERINUSE');
  }
  const used = ctx.catalog.providers.datasetCount(provider.id);
  if (used > 0) {
    throw new ConflictError(
      `storage provider ${provider.name} is used by ${used} dataset(s); delete or move them first`,
      'EPROVIDERINUSE',
    );
  }
  ctx.catalog.providers.delete(provider.id);
  return viewProvider(provider);
}

/**
 * Checks the bucket answers with these credentials, and whether it honours conditional writes
 * (some S3-compatible servers ignore If-None-Match): where it does not, say so once, here.
 * Strata then still reads each manifest and tag write back to catch a lost race, but two
 * writers at the very same moment can both believe they won.
 */
async function verifyProvider(ctx: AppContext, provider: Provider): Promise<void> {
  const backend = await openBackend(provider, ctx.env);
  try {
    await backend.verify();
    if (provider.type === 's3') await checkFormat(backend); // a bucket of a newer Strata: refused before it is added
    if (provider.type === 's3' && !(await supportsConditionalWrites(backend))) {
      provider.config.conditionalWrites = false;
      ctx.reporter.warn(
        `${backend.location} ignores conditional writes (If-None-Match): tag moves are checked by reading them back, which cannot stop two writers at the same instant`,
      );
    }
  } finally {
    backend.close();
  }
}

function assertProviderNameFree(ctx: AppContext, name: string): void {
  const other = ctx.catalog.providers.byName(name);
  if (other) throw new ConflictError(`a storage provider named "${name}" already exists (${other.id})`, 'ENAMETAKEN');
}

function s3Config(input: S3ProviderInput, base: S3ProviderConfig | undefined): S3ProviderConfig {
  if (input.signatureVersion !== undefined && input.signatureVersion !== 'v4') {
    throw new UsageError(
      `signature version "${input.signatureVersion}" is not supported: Strata signs every request with AWS Signature Version 4 (v2 is deprecated and not implemented)`,
      'ESIGNATURE',
    );
  }
  const keysGiven = input.accessKey !== undefined || input.secretAccessKey !== undefined;
  const sources = [keysGiven, input.credentials === 'env', input.profile !== undefined].filter(Boolean).length;
  if (sources > 1) {
    throw new UsageError('give either --accessKey/--secretAccessKey, --credentials env, or --profile, not several');
  }
  let credentials: Pick<S3ProviderConfig, 'credentials' | 'accessKey' | 'secretAccessKey' | 'profile'>;
  if (keysGiven) {
    const accessKey = input.accessKey ?? (base?.credentials === 'stored' ? base.accessKey : undefined);
    const secretAccessKey =
      input.secretAccessKey ?? (base?.credentials === 'stored' ? base.secretAccessKey : undefined);
    if (!accessKey || !secretAccessKey) throw new UsageError('--accessKey and --secretAccessKey go together');
    credentials = { credentials: 'stored', accessKey, secretAccessKey };
  } else if (input.credentials === 'env') {
    credentials = { credentials: 'env' };
  } else if (input.profile !== undefined) {
    credentials = { credentials: 'profile', profile: input.profile };
  } else if (base) {
    credentials = {
      credentials: base.credentials,
      accessKey: base.accessKey,
      secretAccessKey: base.secretAccessKey,
      profile: base.profile,
    };
  } else {
    throw new UsageError(
      'no credentials: give --accessKey and --secretAccessKey, or --credentials env (AWS environment, ~/.aws files, SSO), or --profile NAME',
    );
  }
  const endpoint = input.endpoint ?? base?.endpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new UsageError(`endpoint "${endpoint}" is not an http(s) URL`, 'EENDPOINT');
  }
  const prefix = (input.prefix ?? base?.prefix)?.replace(/^\/+|\/+$/g, '');
  const packs = input.packs ?? base?.packs;
  return {
    bucket: input.bucket ?? base!.bucket,
    ...(prefix ? { prefix } : {}),
    ...(endpoint ? { endpoint } : {}),
    region: input.region ?? base?.region ?? 'us-east-1',
    signatureVersion: 'v4',
    ...credentials,
    ...(packs === false ? { packs } : {}),
  };
}
