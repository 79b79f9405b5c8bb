// Zip archives, read with yauzl (it reads the central directory, so it needs the whole file on disk).
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { UsageError } from '../core/errors.js';
import type { ArchiveEntry, EntryKind, Visit } from './archive.js';

const UNIX_HOST = 3;
const S_IFMT = 0o170000;

interface ZipEntryInternals {
  fileNameRaw: Buffer;
}
// exported by yauzl 3 at run time; @types/yauzl describes yauzl 2
const { getFileNameLowLevel } = yauzl as unknown as {
  getFileNameLowLevel(flags: number, raw: Buffer, extra: { id: number; data: Buffer }[], strict: boolean): string;
};

function zipKind(entry: yauzl.Entry, name: string): { kind: EntryKind; mode: number; typeName?: string } {
  const unixMode = entry.versionMadeBy >>> 8 === UNIX_HOST ? entry.externalFileAttributes >>> 16 : 0;
  const format = unixMode & S_IFMT;
  const mode = unixMode & 0o777 || 0o644;
  if (name.endsWith('/') || format === 0o040000) return { kind: 'directory', mode };
  if (format === 0o120000) return { kind: 'symlink', mode };
  if (format === 0 || format === 0o100000) return { kind: 'file', mode };
  return { kind: 'other', mode, typeName: `special file (mode ${unixMode.toString(8)}) not stored` };
}

export async function readZip(file: string, visit: Visit): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, validateEntrySizes: true, decodeStrings: false }, (error, zipfile) =>
      error ? reject(error) : resolve(zipfile),
    );
  });
  zip.on('error', () => undefined); // errors are taken per entry below; none may crash the process
  try {
    for await (const entry of zipEntries(zip)) {
      // decoded here rather than by yauzl, which would reject unsafe names with a bare Error
      const name = getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        (entry as unknown as ZipEntryInternals).fileNameRaw,
        entry.extraFields,
        false,
      );
      const { kind, mode, typeName } = zipKind(entry, name);
      const described: ArchiveEntry = { name, kind, mode, typeName, mtimeMs: entry.getLastModDate().getTime() };
      if (kind === 'symlink') described.linkpath = await readLinkTarget(zip, entry, name);
      const body = kind === 'file' ? await openZipStream(zip, entry, name) : undefined;
      try {
        await visit(described, body);
      } finally {
        body?.destroy();
      }
    }
  } finally {
    zip.close();
  }
}

async function* zipEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const next = new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      const settle = (): void => {
        zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
      };
      const onEntry = (entry: yauzl.Entry): void => (settle(), resolve(entry));
      const onEnd = (): void => (settle(), resolve(undefined));
      const onError = (error: Error): void => (settle(), reject(error));
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
    });
    zip.readEntry();
    const entry = await next;
    if (!entry) return;
    yield entry;
  }
}

function openZipStream(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string): Promise<Readable> {
  if (entry.isEncrypted()) {
    throw new UsageError(
      `cannot extract ${JSON.stringify(name)}: encrypted zip entries are not supported`,
      'ENOTARCHIVE',
    );
  }
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw new UsageError(
      `cannot extract ${JSON.stringify(name)}: zip compression method ${entry.compressionMethod} is not supported (only stored and deflate)`,
      'ENOTARCHIVE',
    );
  }
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream)));
  });
}

async function readLinkTarget(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string): Promise<string> {
  const stream = await openZipStream(zip, entry, name);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > 4096) {
      stream.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, 4096).toString('utf8');
}
