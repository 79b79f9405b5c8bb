import { createHash, type Hash } from 'node:crypto';
import { PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import type { StorageBackend } from '../storage/backend.js';
import { packKey, packTableKey } from '../storage/keys.js';
import { packTableDoc, type PackEntry } from '../storage/pack-docs.js';

const MiB = 1024 * 1024;

export interface PackTuning {
  /** a pack is sealed and uploaded once it holds this many bytes */
  target: number;
  /** packs uploading at once; a put that fills more waits */
  uploads: number;
}

/** 16 MiB packs, as restic's: tens of requests for a dataset of a GiB, and little memory in flight. */
export const PACKS: PackTuning = { target: 16 * MiB, uploads: 4 };

/** A pack stored in the bucket with its table: its sha256 (its name), size and entries. */
export interface StoredPack {
  id: string;
  size: number;
  entries: PackEntry[];
}

interface OpenPack<W> {
  parts: Buffer[];
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

  /** Adds a blob (whose sha256 the caller computed from these bytes); waits only for an upload slot. */
  async add(sha256: string, bytes: Buffer, waiter: W): Promise<void> {
    this.throwIfFailed();
    if (this.join(sha256, waiter)) return;
    const pack = (this.open ??= { parts: [], entries: [], size: 0, hash: createHash('sha256'), waiters: [] });
    pack.parts.push(bytes);
    pack.entries.push({ sha256, offset: pack.size, size: bytes.length });
    pack.hash.update(bytes);
    pack.size += bytes.length;
    pack.waiters.push(waiter);
    this.packing.set(sha256, pack);
    if (pack.size >= this.tuning.target) await this.seal();
  }

  /** Seals and stores the last pack, and waits for every upload; throws the first failure. */
  async finish(): Promise<void> {
    if (this.failure === undefined && this.open) await this.seal();
    await Promise.allSettled(this.uploading);
    this.throwIfFailed();
  }

  /** Waits for the uploads in flight, whatever becomes of them (after a failure elsewhere). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.uploading);
  }

  private async seal(): Promise<void> {
    const pack = this.open!;
    this.open = undefined;
    faultPoint('pack:sealed');
    while (this.uploading.size >= this.tuning.uploads) await Promise.race(this.uploading);
    this.throwIfFailed();
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
    const body = Buffer.concat(pack.parts, pack.size);
    pack.parts = [];
    await this.putOnce(packKey(id), body, { sha256: id });
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
