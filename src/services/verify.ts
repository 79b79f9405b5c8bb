import pLimit from 'p-limit';
import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import { ContentMismatch, IntegrityError, NotFoundError } from '../core/errors.js';
import { checkPresence } from './presence.js';
import { versionFiles } from './sealed.js';
import { refreshForRead } from './sync.js';
import { findProvider, resolveRef } from './resolve.js';
import type { BlobSink } from '../transfer/read-blob.js';
import { rereadGarbled, readHashed } from '../transfer/read-hashed.js';
import { providerBlobReader, providerReadMany } from './packs.js';

export interface VerifyResult {
  ref: string;
  deep: boolean;
  files: number;
  blobs: number;
  bytes: number;
}

/**
 * Checks every blob of a version exists in its provider; with deep, downloads and re-hashes each.
 * Any problem fails with the integrity exit code and names the files concerned.
 */
export async function verifyVersion(
  ctx: AppContext,
  input: { id: string; deep?: boolean; concurrency?: number; signal?: AbortSignal },
): Promise<VerifyResult> {
  await refreshForRead(ctx, input.id);
  const { dataset, version } = resolveRef(ctx, input.id);
  const ref = `${dataset.id}:${version.id}`;
  const provider = findProvider(ctx, dataset.storageProviderId);
  const backend = await ctx.backend(provider);
  const files = versionFiles(ctx, version);
  const blobs = new Map<string, FileEntry>();
  for (const f of files) blobs.set(f.sha256, f);
  const problems: string[] = [];
  const missing = await checkPresence(ctx, provider, backend, [...blobs.values()]);
  for (const f of missing) problems.push(`${f.path} (blob ${f.sha256.slice(0, 12)}… missing)`);
  if (input.deep) {
    const gone = new Set(missing.map((f) => f.sha256));
    const limit = pLimit(input.concurrency ?? 16);
    const readBlob = providerBlobReader(ctx, provider);
    let rest = [...blobs.values()].filter((f) => !gone.has(f.sha256));
    const readMany = providerReadMany(ctx, provider);
    if (readMany) {
      // Packed blobs by ranges of their packs, each checked as it arrives.
      const left = await readMany(rest, async () => undefined, {
        signal: input.signal,
        bad: (sha) => problems.push(`${blobs.get(sha)!.path} (content does not match its sha256)`),
      });
      const unread = new Set(left.map((b) => b.sha256));
      rest = rest.filter((f) => unread.has(f.sha256));
    }
    await Promise.all(
      rest.map((f) =>
        limit(async () => {
          input.signal?.throwIfAborted();
          // No cap on what arrives: a blob of another length is other content. What is wrong is
          // read again (rereadGarbled): only content wrong on every read, or wrong alike 3 times, is reported.
          const read = (sink: BlobSink): Promise<void> => readBlob(f.sha256, f.size, sink, input.signal);
          try {
            await rereadGarbled(async () => {
              const got = await readHashed(read, Number.POSITIVE_INFINITY);
              if (got.sha256 !== f.sha256 || got.bytes !== f.size) {
                throw new ContentMismatch(
                  `${f.path} (content does not match its sha256)`,
                  `${got.sha256}:${got.bytes}`,
                );
              }
            });
          } catch (error) {
            if (error instanceof NotFoundError) return void problems.push(`${f.path} (blob missing)`);
            if (error instanceof IntegrityError)
              return void problems.push(
                error.message.startsWith(f.path) ? error.message : `${f.path} (blob has the wrong size)`,
              );
            throw error;
          }
        }),
      ),
    );
  }
  if (problems.length > 0) {
    throw new IntegrityError(
      `${ref}: ${problems.length} blob(s) failed verification: ${problems.slice(0, 5).join(', ')}${problems.length > 5 ? ', …' : ''}`,
    );
  }
  const bytes = files.reduce((n, f) => n + f.size, 0);
  return { ref, deep: input.deep ?? false, files: files.length, blobs: blobs.size, bytes };
}
