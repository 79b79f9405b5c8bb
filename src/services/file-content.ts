import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import { ContentMismatch, NotFoundError } from '../core/errors.js';
import { normalizeVersionPath } from '../core/paths-in-manifest.js';
import { tempName } from '../core/temp-name.js';
import type { BlobSink } from '../transfer/read-blob.js';
import { readHashed, readIntoFile, rereadGarbled } from '../transfer/read-hashed.js';
import { findProvider, resolveRef } from './resolve.js';
import { providerBlobReader } from './packs.js';
import { assertSealed } from './sealed.js';

export interface VersionFile {
  ref: string;
  file: FileEntry;
  storageProviderId: string;
}

/** One file of a version, by its path; a committed version's files are checked against the seal. */
export function versionFile(ctx: AppContext, input: { id: string; path: string }): VersionFile {
  const { dataset, version } = resolveRef(ctx, input.id);
  const path = normalizeVersionPath(input.path);
  const file = path === '' ? undefined : ctx.catalog.files.get(dataset.id, version.id, path);
  if (!file) throw new NotFoundError(`no file "${input.path}" in ${dataset.id}:${version.id}`, 'ENOPATH');
  assertSealed(ctx, version);
  return { ref: `${dataset.id}:${version.id}`, file, storageProviderId: dataset.storageProviderId };
}

/** A file's bytes from storage, checked against its sha256 before any is returned. */
export async function readVersionFile(ctx: AppContext, found: VersionFile, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await readChecked(
    ctx,
    found,
    async (read) => {
      chunks.length = 0;
      return readHashed(read, found.file.size, async (chunk) => void chunks.push(Buffer.from(chunk)));
    },
    signal,
  );
  return Buffer.concat(chunks);
}

/**
 * A file's bytes from storage into a temporary file of STRATA_HOME, checked against its sha256
 * before the caller sees it (a download is sent only once it is known to be right); `remove` it after.
 */
export async function spoolVersionFile(
  ctx: AppContext,
  found: VersionFile,
  signal?: AbortSignal,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = ctx.paths.tmp;
  await mkdir(dir, { recursive: true });
  const path = join(dir, tempName('download'));
  const remove = (): Promise<void> => rm(path, { force: true });
  try {
    await readChecked(
      ctx,
      found,
      async (read) => {
        await remove();
        return readIntoFile(read, path, found.file.size);
      },
      signal,
    );
    return { path, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

async function readChecked(
  ctx: AppContext,
  { ref, file, storageProviderId }: VersionFile,
  attempt: (read: (sink: BlobSink) => Promise<void>) => Promise<{ sha256: string; bytes: number }>,
  signal?: AbortSignal,
): Promise<void> {
  const reader = providerBlobReader(ctx, findProvider(ctx, storageProviderId));
  const read = (sink: BlobSink): Promise<void> => reader(file.sha256, file.size, sink, signal);
  await rereadGarbled(async () => {
    const got = await attempt(read);
    if (got.sha256 !== file.sha256 || got.bytes !== file.size)
      throw new ContentMismatch(`${ref} ${file.path}: content does not match its sha256`, `${got.sha256}:${got.bytes}`);
  });
}
