import { createHash, type Hash } from 'node:crypto';
import { PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import type { StorageBackend } from '../storage/backend.js';
import { packKey, packTableKey } from '../storage/keys.js';
import { packTableDoc, type PackEntry } from '../storage/pack-docs.js';

const MiB = 1024 * 1024;

export interface PackTuning {
  /** a pack holds at most this many bytes (a blob that does not fit starts the next; a larger one is a pack alone) */
  target: number;
  /** packs uploading at once; a put that fills more waits */
  uploads: number;
}

/** 16 MiB packs, as restic's: tens of requests for a dataset of a GiB, and little memory in flight. */
export const PACKS: PackTuning = { target: 16 * MiB, uploads: 2 };

/** A pack stored in the bucket with its table: its sha256 (its name), size and entries. */
export interface StoredPack {
  id: string;
  size: number;
  entries: PackEntry[];
}

interface OpenPack<W> {
  /** the pack's bytes, filled as blobs come: its memory is all a pack takes (the blobs' own buffers go) */
  bytes: Buffer;
  entries: PackEntry[];
  size: number;
  hash: Hash;
  /** files waiting for this pack to be stored */
  waiters: W[];
}

/**
 * Assembles small blobs into packs as a put hands them over and uploads each pack, then its table,
 * while the put goes on (docs/packs.md). A file whose content goes into a pack waits for that pack:
 * `stored` is told the pack and its waiters once pack and table are in the bucket, so no file
 * enters a version before its content is stored. A pack is one PUT of a whole object, so it is in
 * the bucket complete or not at all; its table is written after it, so no table names a pack that
 * is not there.
 */
export class Packer<W> {
  private open: OpenPack<W> | undefined;
  /** blobs in a pack not yet stored: a file of the same content waits for that pack */
  private readonly packing = new Map<string, OpenPack<W>>();
  private readonly uploading = new Set<Promise<void>>();
  /** pack buffers whose upload is done, for the next packs: memory stays what it was, GC or not */
  private readonly spare: Buffer[] = [];
  private failure: unknown;

  constructor(
    private readonly backend: StorageBackend,
    private readonly stored: (pack: StoredPack, waiters: W[]) => void,
    private readonly tuning: PackTuning = PACKS,
    private readonly signal?: AbortSignal,
  ) {}

  /** Whether this blob is in a pack on its way; if so, `waiter` waits for that pack. */
  join(sha256: string, waiter: W): boolean {
    const pack = this.packing.get(sha256);
    if (pack) pack.waiters.push(waiter);
    return pack !== undefined;
  }

  /**
   * Waits while as many packs as may upload at once are on their way, so that memory holds those
   * and the one being filled however fast files are read: called before a blob is read for `add`.
   */
  async ready(): Promise<void> {
    while (this.failure === undefined && this.uploading.size >= this.tuning.uploads) {
      await Promise.race(this.uploading);
    }
    this.throwIfFailed();
  }

  /**
   * Adds a blob (whose sha256 the caller computed from these bytes), copying them: the caller may
   * reuse its buffer at once. Synchronous, so that nothing runs between the read and the copy.
   */
  add(sha256: string, bytes: Buffer, waiter: W): void {
    this.throwIfFailed();
    if (this.join(sha256, waiter)) return;
    if (this.open && this.open.size + bytes.length > this.open.bytes.length) this.seal();
    const pack = (this.open ??= {
      bytes:
        bytes.length > this.tuning.target
          ? Buffer.allocUnsafeSlow(bytes.length)
          : (this.spare.pop() ?? Buffer.allocUnsafeSlow(this.tuning.target)),
      entries: [],
      size: 0,
      hash: createHash('sha256'),
      waiters: [],
    });
    bytes.copy(pack.bytes, pack.size);
    pack.entries.push({ sha256, offset: pack.size, size: bytes.length });
    pack.hash.update(bytes);
    pack.size += bytes.length;
    pack.waiters.push(waiter);
    this.packing.set(sha256, pack);
    if (pack.size === pack.bytes.length) this.seal();
  }

  /** Seals and stores the last pack, and waits for every upload; throws the first failure. */
  async finish(): Promise<void> {
    if (this.failure === undefined && this.open) this.seal();
    await Promise.allSettled(this.uploading);
    this.throwIfFailed();
  }

  /** Waits for the uploads in flight, whatever becomes of them (after a failure elsewhere). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.uploading);
  }

  /** Starts the upload of the pack being filled. */
  private seal(): void {
    const pack = this.open!;
    this.open = undefined;
    faultPoint('pack:sealed');
    const upload: Promise<void> = this.upload(pack).then(
      () => void this.uploading.delete(upload),
      (error: unknown) => {
        this.uploading.delete(upload);
        this.failure ??= error;
      },
    );
    this.uploading.add(upload);
  }

  private async upload(pack: OpenPack<W>): Promise<void> {
    const id = pack.hash.digest('hex');
    await this.putOnce(packKey(id), pack.bytes.subarray(0, pack.size), { sha256: id });
    if (pack.bytes.length === this.tuning.target) this.spare.push(pack.bytes);
    faultPoint('pack:after-pack');
    const table = Buffer.from(JSON.stringify(packTableDoc(id, pack.size, pack.entries)));
    await this.putOnce(packTableKey(id), table, { contentType: 'application/json' });
    faultPoint('pack:after-table');
    for (const e of pack.entries) this.packing.delete(e.sha256);
    this.stored({ id, size: pack.size, entries: pack.entries }, pack.waiters);
  }

  /** Packs and tables are named by content: one already there is the same bytes. */
  private async putOnce(key: string, body: Buffer, options: { sha256?: string; contentType?: string }): Promise<void> {
    try {
      await this.backend.put(key, body, { ...options, ifNoneMatch: true, signal: this.signal });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
