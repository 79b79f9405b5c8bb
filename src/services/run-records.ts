import type { AppContext } from './context.js';
import { FINAL_STATUSES, type Provider } from '../core/model.js';
import { UsageError } from '../core/errors.js';
import { readIfPresent } from '../storage/backend.js';
import { parseRunDoc, runKey, type RunDoc } from '../storage/run-doc.js';

/**
 * Where a node finds the bucket of a submitted run: the provider by its place, never its secrets.
 * Credentials come from the node: its environment chain, a profile, or a 0600 file it reads.
 */
export type ProviderLocator =
  | {
      type: 's3';
      bucket: string;
      prefix?: string;
      endpoint?: string;
      region: string;
      profile?: string;
      credentialsFile?: string;
    }
  | { type: 'local'; path: string };

export function recordProviderOf(provider: Provider, credentialsFile?: string): string {
  if (provider.type === 'local') return JSON.stringify({ type: 'local', path: provider.config.path });
  const c = provider.config;
  const locator: ProviderLocator = {
    type: 's3',
    bucket: c.bucket,
    ...(c.prefix ? { prefix: c.prefix } : {}),
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    region: c.region,
    ...(c.credentials === 'profile' && c.profile ? { profile: c.profile } : {}),
    ...(credentialsFile ? { credentialsFile } : {}),
  };
  return JSON.stringify(locator);
}

export function parseLocator(text: string): ProviderLocator {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UsageError(`--record-provider: not JSON: ${text}`);
  }
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  if (v.type === 'local' && str('path')) return { type: 'local', path: str('path')! };
  if (v.type === 's3' && str('bucket') && str('region')) {
    const out: ProviderLocator = { type: 's3', bucket: str('bucket')!, region: str('region')! };
    for (const k of ['prefix', 'endpoint', 'profile', 'credentialsFile'] as const) if (str(k)) out[k] = str(k);
    return out;
  }
  throw new UsageError(`--record-provider: expected {"type":"s3","bucket",…} or {"type":"local","path"}: ${text}`);
}

export async function readRunDoc(ctx: AppContext, provider: Provider, runId: string): Promise<RunDoc | undefined> {
  const key = runKey(runId);
  const bytes = await readIfPresent(await ctx.backend(provider), key);
  return bytes && parseRunDoc(key, bytes);
}

export type RunDocChange = Pick<RunDoc, 'id' | 'job' | 'command' | 'status'> & Partial<RunDoc>;

/**
 * Writes a run's record, over what it said: a final record stays final (a late "running" from a
 * slow writer, or a submitter's "lost", never hides how the run really ended).
 */
export async function writeRunDoc(ctx: AppContext, provider: Provider, change: RunDocChange): Promise<RunDoc> {
  const backend = await ctx.backend(provider);
  const current = await readRunDoc(ctx, provider, change.id).catch(() => undefined);
  if (current && FINAL_STATUSES.includes(current.status) && current.status !== 'lost') return current;
  const doc: RunDoc = {
    format: 'strata.run/1',
    exitCode: null,
    slurmJobId: null,
    host: null,
    startedAt: null,
    endedAt: null,
    inputs: [],
    outputs: [],
    ...current,
    ...change,
    updatedAt: new Date().toISOString(),
  };
  await backend.put(runKey(change.id), Buffer.from(JSON.stringify(doc)), { contentType: 'application/json' });
  return doc;
}
