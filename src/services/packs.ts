import pLimit from 'p-limit';
import type { AppContext } from './context.js';
import type { Provider } from '../core/model.js';
import {
  EnvironmentError,
  IntegrityError,
  NotFoundError,
  PreconditionFailedError,
  StorageError,
} from '../core/errors.js';
import { readIfPresent, type StorageBackend } from '../storage/backend.js';
import { FORMAT_KEY, PACKS_PREFIX, packKey, packOfKey, packTableKey } from '../storage/keys.js';
import { formatDoc, parseFormatDoc, parsePackTable } from '../storage/pack-docs.js';
import { readBlob, type BlobReader, type PackedAt } from '../transfer/read-blob.js';
import { readPacked, type Deliver, type Located, type ReadMany, type WantedBlob } from '../transfer/pack-reads.js';

/**
 * Blobs below this size go into packs on S3 providers. At 1 MiB a request's fixed cost (a few ms
 * on the RGW we measure, more on a WAN) is a small part of its transfer; below it the requests,
 * not the bytes, are the wall (docs/packs.md has the figures).
 */
export const PACK_BELOW = 1024 * 1024;

/**
 * Which blobs a put packs into a provider: on S3, those below PACK_BELOW unless the provider was
 * made with --no-packs; on the local provider none, so that the cache can link storage's own file
 * of each blob and a local-only user keeps one copy of each (docs/packs.md, "The local provider").
 */
export const packBelow = (provider: Provider): number | undefined =>
  provider.type === 's3' && provider.config.packs !== false ? PACK_BELOW : undefined;

/**
 * Says, in the bucket's format document, that the bucket holds packs, before the first pack is
 * written: a Strata that knows the document and not packs then asks to be upgraded. Refuses a
 * bucket whose document names what this Strata does not know.
 */
export async function declarePacks(backend: StorageBackend): Promise<void> {
  if (declared.has(backend)) return;
  if (!(await checkFormat(backend))) {
    await backend
      .put(FORMAT_KEY, Buffer.from(JSON.stringify(formatDoc())), { ifNoneMatch: true, contentType: 'application/json' })
      .catch((error: unknown) => {
        if (!(error instanceof PreconditionFailedError)) throw error;
      });
    await checkFormat(backend); // someone else's, written at the same moment
  }
  declared.add(backend);
}

/** Backends whose bucket this process has seen declare packs. */
const declared = new WeakSet<StorageBackend>();

/** Whether the bucket has a format document; throws when it names a layout this Strata does not know. */
export async function checkFormat(backend: StorageBackend): Promise<boolean> {
  const bytes = await readIfPresent(backend, FORMAT_KEY);
  if (!bytes) return false;
  const first = parsedFormat(bytes);
  // What refuses the bucket is believed once two reads agree: a byte flipped on the way could
  // make any bucket look newer (or broken). A document as this Strata writes it is believed at once.
  const { unknown } =
    first && first.unknown.length === 0 ? first : parseFormatDoc(FORMAT_KEY, await readAgreed(backend, bytes));
  if (unknown.length > 0) {
    throw new EnvironmentError(
      `${backend.location} was written by a newer Strata (${FORMAT_KEY} names ${unknown.join(', ')}): upgrade Strata to read or write it`,
      'EUPGRADE',
    );
  }
  return true;
}

const parsedFormat = (bytes: Buffer): ReturnType<typeof parseFormatDoc> | undefined => {
  try {
    return parseFormatDoc(FORMAT_KEY, bytes);
  } catch {
    return undefined;
  }
};

/** Reads of the format document at most, while no two in a row are alike. */
const AGREEING_READS = 5;

/** The format document's bytes once two reads in a row agree (the first read is `first`). */
async function readAgreed(backend: StorageBackend, first: Buffer): Promise<Buffer> {
  let last = first;
  for (let reads = 1; reads < AGREEING_READS; reads++) {
    const next = (await readIfPresent(backend, FORMAT_KEY)) ?? Buffer.alloc(0);
    if (next.equals(last)) return next;
    last = next;
  }
  throw new StorageError(
    `${FORMAT_KEY} in ${backend.location} read differently ${AGREEING_READS} times in a row; check the network`,
    { code: 'EUNREACHABLE' },
  );
}

/** Tables read at once. */
const TABLE_READS = 16;

/**
 * Loads the tables of packs the catalog does not know from the bucket, as untrusted input: a
 * table is checked against its key and its pack (which must be there, as large as the table
 * says), and a bad one is refused, named in `refused`, and nothing of it enters the catalog.
 * Forgets packs the catalog knows and the bucket no longer holds. Returns how many tables it
 * loaded.
 */
export async function loadPackTables(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  refused: { key: string; reason: string }[] = [],
): Promise<number> {
  const sizes = new Map<string, number>();
  const tables: string[] = [];
  for await (const object of backend.list(PACKS_PREFIX)) {
    const of = packOfKey(object.key);
    if (of?.kind === 'pack') sizes.set(of.packId, object.size);
    else if (of?.kind === 'table') tables.push(of.packId);
  }
  const { packs } = ctx.catalog;
  const known = packs.ids(provider.id);
  const gone = [...known].filter((id) => !sizes.has(id));
  if (gone.length > 0) packs.forget(provider.id, gone);
  const limit = pLimit(TABLE_READS);
  let loaded = 0;
  await Promise.all(
    tables
      .filter((id) => !known.has(id))
      .map((id) =>
        limit(async () => {
          const key = packTableKey(id);
          const bytes = await readIfPresent(backend, key);
          if (!bytes) return; // removed since the listing (a gc)
          try {
            packs.record(provider.id, { id, size: sizes.get(id)! }, parsePackTable(key, bytes, id, sizes.get(id)));
            loaded++;
          } catch (error) {
            if (!(error instanceof IntegrityError)) throw error;
            refused.push({ key, reason: error.message.replace(`refusing ${key}: `, '') });
          }
        }),
      ),
  );
  return loaded;
}

/** Where the catalog believes a blob is packed in the provider: the pack's key and the offset. */
export function packedLocator(ctx: AppContext, provider: Provider): (sha256: string) => PackedAt | undefined {
  if (provider.type !== 's3') return () => undefined;
  // One pair of strings per pack, not per blob: a get of a million files holds them all.
  const packs = new Map<string, { packId: string; key: string }>();
  return (sha256) => {
    const at = ctx.catalog.packs.locate(provider.id, sha256);
    if (!at) return undefined;
    let pack = packs.get(at.packId);
    if (!pack) packs.set(at.packId, (pack = { packId: at.packId, key: packKey(at.packId) }));
    return { packId: pack.packId, key: pack.key, offset: at.offset };
  };
}

/**
 * Reads blobs of a provider, loose or packed, as the catalog believes; a blob not found where it
 * believed (a gc elsewhere repacked it, a teammate packed it) is looked for again once the
 * catalog has loaded the bucket's pack tables (once per reader). The backend is opened on first
 * use: a warm materialization never opens it.
 */
export function providerBlobReader(ctx: AppContext, provider: Provider): BlobReader {
  const locate = packedLocator(ctx, provider);
  let refreshed: Promise<void> | undefined;
  return async (sha256, size, sink, signal) => {
    const backend = await ctx.backend(provider);
    try {
      return await readBlob(backend, sha256, size, sink, signal, locate(sha256));
    } catch (error) {
      if (!(error instanceof NotFoundError) || provider.type !== 's3') throw error;
      refreshed ??= refreshPacks(ctx, provider, backend);
      await refreshed;
      const at = locate(sha256);
      if (!at) throw error;
      return readBlob(backend, sha256, size, sink, signal, at);
    }
  };
}

/** The bucket's pack tables, loaded again; refused ones said on stderr. */
export async function refreshPacks(ctx: AppContext, provider: Provider, backend: StorageBackend): Promise<void> {
  await checkFormat(backend);
  await loadTablesSaying(ctx, provider, backend);
}

/**
 * Before a put packs into a bucket: the bucket says it holds packs, and the catalog knows every
 * pack table in it, so content any pack holds is not stored again.
 */
export async function learnPacks(ctx: AppContext, provider: Provider, backend: StorageBackend): Promise<void> {
  await declarePacks(backend);
  await loadTablesSaying(ctx, provider, backend);
}

/** loadPackTables, with what it refused said once on stderr (the command goes on without them). */
async function loadTablesSaying(ctx: AppContext, provider: Provider, backend: StorageBackend): Promise<void> {
  const refused: { key: string; reason: string }[] = [];
  await loadPackTables(ctx, provider, backend, refused);
  for (const r of refused) ctx.reporter.warn(`refused ${r.key}: ${r.reason}`);
}

/**
 * Reads many blobs of a provider, the packed ones by ranges of their packs (readPacked); the
 * others are left to the caller. A pack not found where the catalog believed is looked for again
 * once the bucket's pack tables are loaded.
 */
export function providerReadMany(ctx: AppContext, provider: Provider): ReadMany | undefined {
  if (provider.type !== 's3') return undefined;
  const locate = packedLocator(ctx, provider);
  const split = (blobs: readonly WantedBlob[]): { packed: Located[]; rest: WantedBlob[] } => {
    const packed: Located[] = [];
    const rest: WantedBlob[] = [];
    for (const { sha256, size, at: known } of blobs) {
      const at = known ?? locate(sha256);
      if (at) packed.push({ sha256, size, at });
      else rest.push({ sha256, size });
    }
    return { packed, rest };
  };
  /** small blobs the catalog knows nothing of: perhaps in packs it has not seen (a teammate's, or forgotten after a gc) */
  const unknownSmall = (blobs: readonly WantedBlob[]): boolean =>
    blobs.some((b) => b.size < PACK_BELOW && !ctx.catalog.files.providerHasBlob(provider.id, b.sha256));
  return async (wanted, deliver, options) => {
    const backend = await ctx.backend(provider);
    let { packed, rest } = split(wanted);
    if (unknownSmall(rest)) {
      await refreshPacks(ctx, provider, backend);
      ({ packed, rest } = split(wanted));
    }
    const done = new Set<string>();
    const tracked: Deliver = async (sha256, bytes, at) => {
      await deliver(sha256, bytes, at);
      done.add(sha256);
    };
    try {
      await readPacked(backend, packed, tracked, options);
      return rest;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    await refreshPacks(ctx, provider, backend);
    // Where the catalog now believes the rest are (a caller's hint may be the pack that is gone).
    const again = split(packed.filter((b) => !done.has(b.sha256)).map(({ sha256, size }) => ({ sha256, size })));
    await readPacked(backend, again.packed, tracked, options);
    return [...rest, ...again.rest];
  };
}

/** How a materialization reads a provider's blobs: one by one, many at once, and where each is packed. */
export function providerReads(
  ctx: AppContext,
  provider: Provider,
): { read: BlobReader; readMany?: ReadMany; locate: (sha256: string) => PackedAt | undefined } {
  return {
    read: providerBlobReader(ctx, provider),
    readMany: providerReadMany(ctx, provider),
    locate: packedLocator(ctx, provider),
  };
}
