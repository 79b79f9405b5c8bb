import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * A write of 2 MiB or more fills large page-cache folios, and on the VMs we measure, filling
 * fresh ones costs the kernel ~10× what writes of 1 MiB and less do (~2.5 s against ~0.25 s per
 * GiB: the host backs the guest's free high-order pages only as they are touched). Large chunks
 * are written in pieces; the extra system calls cost nothing we could measure.
 */
const WRITE_PIECE = 512 * 1024;

export async function writeInPieces(file: FileHandle, chunk: Buffer, at: number): Promise<void> {
  for (let done = 0; done < chunk.length; done += WRITE_PIECE) {
    await file.write(chunk, done, Math.min(WRITE_PIECE, chunk.length - done), at + done);
  }
}

/**
 * What O_DIRECT wants aligned to the device's block: file offsets, lengths and memory. 4096 covers
 * devices of 512- and 4096-byte blocks; read-blob's range buffers are page-aligned.
 */
export const DIRECT_ALIGN = 4096;

const { O_CREAT, O_EXCL, O_RDWR } = constants;
/** undefined where the platform has no O_DIRECT (macOS, Windows): every file there is ordinary */
const O_DIRECT = (constants as { O_DIRECT?: number }).O_DIRECT;

const aligned = (n: number): boolean => n % DIRECT_ALIGN === 0;

// Node's WebAssembly global, which lib ES2023 and @types/node do not declare.
declare const WebAssembly: { Memory: new (limits: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };
const WASM_PAGE = 64 * 1024;

/**
 * Zeroed memory that starts on a page boundary, as WebAssembly memory does, so O_DIRECT can write
 * from it. Its pages are the system's only once touched.
 */
export function pageAlignedMemory(bytes: number): Buffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, bytes);
}

/**
 * A new file (mode 0600, which must not exist) written around the page cache where the system
 * allows (O_DIRECT), for a copy nobody reads soon: the cache's copy of a blob a get also writes
 * into its target. The target's copy is what the user reads next, so it alone takes page cache
 * and the CPU that filling fresh page-cache memory costs (on the VMs we measure, ~0.25 s per GiB
 * even in small writes, against ~0.1 s direct).
 *
 * A chunk is written direct when its offset, length and memory are aligned, or when it is the
 * last one of the file: then it is written padded up to the block and the file truncated to size
 * by `close`. Anything else (an unaligned chunk, a refusal with EINVAL) switches the file to
 * ordinary writes for good, once the direct writes in flight are done: a buffered write sharing a
 * page with a direct one still in flight could later write stale bytes over it.
 */
export class UncachedFile {
  private directFile: FileHandle | undefined;
  private buffered: Promise<FileHandle> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private padded = false;

  private constructor(
    private readonly path: string,
    private readonly size: number,
    private readonly first: FileHandle,
    direct: boolean,
  ) {
    if (direct) this.directFile = first;
    else this.buffered = Promise.resolve(first);
  }

  static async create(path: string, size: number): Promise<UncachedFile> {
    const exclusive = O_CREAT | O_EXCL | O_RDWR;
    if (O_DIRECT !== undefined) {
      try {
        return new UncachedFile(path, size, await open(path, exclusive | O_DIRECT, 0o600), true);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error; // a filesystem without O_DIRECT
      }
    }
    return new UncachedFile(path, size, await open(path, exclusive, 0o600), false);
  }

  /** Whether writes still go around the page cache. */
  get direct(): boolean {
    return this.directFile !== undefined;
  }

  async write(chunk: Buffer, at: number): Promise<void> {
    const bytes = this.directFile && this.directView(chunk, at);
    if (!bytes) return this.writeBuffered(chunk, at);
    const written = this.directFile!.write(bytes, 0, bytes.length, at);
    this.inFlight.add(written);
    try {
      await written;
      if (bytes.length !== chunk.length) this.padded = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      await this.writeBuffered(chunk, at);
    } finally {
      this.inFlight.delete(written);
    }
  }

  /** Truncates away the last block's padding, then closes. */
  async close(): Promise<void> {
    try {
      await Promise.allSettled(this.inFlight);
      if (this.padded) await this.first.truncate(this.size);
    } finally {
      const second = this.buffered?.then((file) => (file === this.first ? undefined : file.close()));
      await Promise.allSettled([this.first.close(), second]);
    }
  }

  /** The bytes to write direct for `chunk` at `at` (the last chunk padded), or undefined if it cannot be. */
  private directView(chunk: Buffer, at: number): Buffer | undefined {
    // byteOffset stands for the address: exact for read-blob's page-aligned buffers; for any
    // other, a misaligned address is refused with EINVAL, and the file goes buffered.
    if (!aligned(at) || !aligned(chunk.byteOffset)) return undefined;
    if (aligned(chunk.length)) return chunk;
    if (at + chunk.length !== this.size) return undefined;
    const length = Math.ceil(chunk.length / DIRECT_ALIGN) * DIRECT_ALIGN;
    if (chunk.byteOffset + length > chunk.buffer.byteLength) return undefined;
    return Buffer.from(chunk.buffer, chunk.byteOffset, length);
  }

  private async writeBuffered(chunk: Buffer, at: number): Promise<void> {
    if (!this.buffered) {
      this.directFile = undefined;
      const drained = Promise.allSettled([...this.inFlight]);
      this.buffered = drained.then(() => open(this.path, 'r+'));
    }
    await writeInPieces(await this.buffered, chunk, at);
  }
}
