import { enc, STATE_HEADER, withQuery } from './api.js';

/** A file to upload and its path under the target folder. */
export interface Picked {
  path: string;
  file: File;
}

/**
 * Files per request, and bytes: each batch is one put on the server (src/web/upload.ts), whose
 * fixed cost (the version's claim, the gc gate, its draft in the bucket) is paid once per batch.
 * Batches go one after another: two at once were slower (measured: their puts contend).
 */
const BATCH_FILES = 5000;
const BATCH_BYTES = 64 * 1024 * 1024;

/** The files of a drop, folders walked (webkitGetAsEntry: the only way a dropped folder is read). */
export async function droppedFiles(items: DataTransferItemList): Promise<Picked[]> {
  const entries = [...items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const out: Picked[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ path: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

/** Files chosen in an <input type=file> (a folder's keep their path under it). */
export const chosenFiles = (list: FileList): Picked[] =>
  [...list].map((file) => ({ path: file.webkitRelativePath || file.name, file }));

function batches(files: Picked[]): Picked[][] {
  const out: Picked[][] = [];
  let batch: Picked[] = [];
  let size = 0;
  for (const f of files) {
    if (batch.length > 0 && (batch.length >= BATCH_FILES || size + f.file.size > BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(f);
    size += f.file.size;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** One request's body: [uint32 n][n bytes of JSON file list][the files' bytes] (a Blob of the Files, not a copy). */
function body(batch: Picked[]): Blob {
  const list = new TextEncoder().encode(
    JSON.stringify({ files: batch.map((f) => ({ path: f.path, size: f.file.size, mtimeMs: f.file.lastModified })) }),
  );
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, list.length);
  return new Blob([length, list, ...batch.map((f) => f.file)]);
}

/** Uploads files into an uncommitted version, batch after batch, reporting bytes sent. */
export async function upload(
  ref: string,
  target: string,
  files: Picked[],
  progress: (sent: number, total: number, stage: string) => void,
): Promise<{ files: number; bytesUploaded: number }> {
  const total = files.reduce((n, f) => n + f.file.size, 0);
  let done = 0;
  let stored = 0;
  let uploaded = 0;
  for (const batch of batches(files)) {
    const size = batch.reduce((n, f) => n + f.file.size, 0);
    const result = await send(withQuery(`/api/versions/${enc(ref)}/files`, { target }), body(batch), (sent) =>
      progress(done + Math.min(sent, size), total, 'uploading'),
    );
    done += size;
    stored += batch.length;
    uploaded += result.bytesUploaded;
    progress(done, total, `stored ${stored} of ${files.length} files`);
  }
  return { files: stored, bytesUploaded: uploaded };
}

function send(url: string, blob: Blob, sent: (bytes: number) => void): Promise<{ bytesUploaded: number }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [k, v] of Object.entries(STATE_HEADER)) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => sent(e.loaded);
    xhr.onload = () => {
      let parsed: { bytesUploaded?: number; error?: { message: string } } = {};
      try {
        parsed = JSON.parse(xhr.responseText) as typeof parsed;
      } catch {
        // said below
      }
      if (xhr.status === 200) resolve({ bytesUploaded: parsed.bytesUploaded ?? 0 });
      else reject(new Error(parsed.error?.message ?? `upload failed (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error('the upload broke off; run it again: what was stored is kept'));
    xhr.send(blob);
  });
}
