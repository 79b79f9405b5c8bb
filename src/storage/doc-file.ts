import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FileEntry } from '../core/model.js';
import { sweepAbandonedTemps, tempName } from '../core/temp-name.js';
import type { LocalFile } from './backend.js';

const PREFIX = 'doc-';
/** Text gathered before each write to the file. */
const CHUNK_CHARS = 1024 * 1024;

/**
 * A bucket document that lists a version's files (a draft, a manifest), written into a temp file
 * of `dir` from the files as they are read, and handed to `use` as a body to send from disk: a
 * million-file version is ~150 MB of JSON, which neither the document nor its text may cost in
 * memory. The bytes are exactly encodeDoc's of the same document, whose `files` is its last field.
 */
export async function withDocFile<T>(
  dir: string,
  doc: { files: Iterable<FileEntry> },
  use: (body: LocalFile) => Promise<T>,
): Promise<T> {
  mkdirSync(dir, { recursive: true });
  sweepAbandonedTemps(dir, PREFIX); // documents of a process that was killed
  const file = join(dir, tempName(PREFIX));
  try {
    return await use({ file, size: writeDoc(file, doc) });
  } finally {
    rmSync(file, { force: true });
  }
}

/** Writes the document's JSON; returns its size in bytes. */
function writeDoc(path: string, { files, ...head }: { files: Iterable<FileEntry> }): number {
  const fd = openSync(path, 'wx', 0o600);
  let size = 0;
  let text = `${JSON.stringify(head).slice(0, -1)},"files":[`;
  const flush = (): void => {
    const bytes = Buffer.from(text);
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
    size += bytes.length;
    text = '';
  };
  try {
    let first = true;
    for (const f of files) {
      // the fields in FileEntry's order, as JSON.stringify writes the catalog's rows
      const entry = { path: f.path, size: f.size, sha256: f.sha256, mode: f.mode, mtimeMs: f.mtimeMs };
      text += (first ? '' : ',') + JSON.stringify(entry);
      first = false;
      if (text.length >= CHUNK_CHARS) flush();
    }
    text += ']}';
    flush();
    return size;
  } finally {
    closeSync(fd);
  }
}
