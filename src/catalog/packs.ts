import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/** Where a packed blob is: bytes [offset, offset + size) of a pack. */
export interface PackedAt {
  packId: string;
  offset: number;
  size: number;
}

/** The packs a provider is known to hold, and their tables (docs/packs.md). */
export class PackQueries {
  constructor(private readonly db: Db) {}

  private locateStmt?: Statement;

  /** Where the provider is believed to hold this blob in a pack, if anywhere (any one of its packs). */
  locate(providerId: string, sha256: string): PackedAt | undefined {
    this.locateStmt ??= this.db.prepare(
      'SELECT pack_id AS packId, offset, size FROM packed_blobs WHERE provider_id = ? AND sha256 = ? LIMIT 1',
    );
    return this.locateStmt.get(providerId, sha256) as PackedAt | undefined;
  }

  /** Records a pack and its table; the blobs it holds are the provider's too (provider_blobs). */
  record(
    providerId: string,
    pack: { id: string; size: number },
    entries: readonly { sha256: string; offset: number; size: number }[],
  ): void {
    const entry = this.db.prepare(
      'INSERT OR IGNORE INTO packed_blobs (provider_id, sha256, pack_id, offset, size) VALUES (?, ?, ?, ?, ?)',
    );
    const blob = this.db.prepare('INSERT OR IGNORE INTO provider_blobs (provider_id, sha256, size) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR IGNORE INTO packs (provider_id, id, size) VALUES (?, ?, ?)')
        .run(providerId, pack.id, pack.size);
      for (const e of entries) {
        entry.run(providerId, e.sha256, pack.id, e.offset, e.size);
        blob.run(providerId, e.sha256, e.size);
      }
    })();
  }

  /** The packs the catalog knows of for a provider. */
  ids(providerId: string): Set<string> {
    return new Set(this.db.prepare('SELECT id FROM packs WHERE provider_id = ?').pluck().all(providerId) as string[]);
  }

  /** A pack's entries in offset order. */
  *entries(providerId: string, packId: string): Generator<{ sha256: string; offset: number; size: number }> {
    yield* this.db
      .prepare('SELECT sha256, offset, size FROM packed_blobs WHERE provider_id = ? AND pack_id = ? ORDER BY offset')
      .iterate(providerId, packId) as Iterable<{ sha256: string; offset: number; size: number }>;
  }

  /** A pack's entries as any provider's table has them (the cache's pack files are shared by all). */
  entriesAnywhere(packId: string): { sha256: string; offset: number; size: number }[] {
    const providers = this.db.prepare('SELECT provider_id FROM packs WHERE id = ?').pluck().all(packId) as string[];
    const seen = new Map<string, { sha256: string; offset: number; size: number }>();
    for (const provider of providers)
      for (const e of this.entries(provider, packId)) seen.set(`${e.offset}:${e.sha256}`, e);
    return [...seen.values()];
  }

  private holdersStmt?: Statement;

  /** Every place the blob is known to be packed. */
  holders(providerId: string, sha256: string): PackedAt[] {
    this.holdersStmt ??= this.db.prepare(
      'SELECT pack_id AS packId, offset, size FROM packed_blobs WHERE provider_id = ? AND sha256 = ?',
    );
    return this.holdersStmt.all(providerId, sha256) as PackedAt[];
  }

  /**
   * Forgets packs (all of the provider's, or these) and what they hold: a pack found gone. Blobs
   * the catalog believed present only through them are forgotten too.
   */
  forget(providerId: string, packIds?: readonly string[]): void {
    this.db.transaction(() => {
      if (packIds === undefined) {
        this.db.prepare('DELETE FROM packs WHERE provider_id = ?').run(providerId);
        return;
      }
      const orphaned = this.db.prepare(
        `DELETE FROM provider_blobs WHERE provider_id = @provider AND sha256 IN (
           SELECT sha256 FROM packed_blobs p WHERE p.provider_id = @provider AND p.pack_id = @pack
           AND NOT EXISTS (SELECT 1 FROM packed_blobs o
                           WHERE o.provider_id = @provider AND o.sha256 = p.sha256 AND o.pack_id != @pack))`,
      );
      const drop = this.db.prepare('DELETE FROM packs WHERE provider_id = ? AND id = ?');
      for (const id of packIds) {
        orphaned.run({ provider: providerId, pack: id });
        drop.run(providerId, id);
      }
    })();
  }
}
