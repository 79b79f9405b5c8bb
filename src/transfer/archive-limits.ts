import { UsageError } from '../core/errors.js';

/**
 * How far an archive may unpack: a zip or tar.gz that expands past this many times its own size
 * is refused as a decompression bomb (a 1 MB zip of zeros unpacks to a GiB), unless told more.
 * Small archives may always unpack to the floor: a few MiB of very regular text is no bomb.
 */
export const DEFAULT_MAX_EXPANSION = 100;
export const DEFAULT_EXPANSION_FLOOR_MIB = 64;

/** Counts what an archive unpacks to, and refuses it the moment it passes its limit. */
export class ExpansionLimit {
  private unpacked = 0;
  private readonly limit: number;

  constructor(
    archiveBytes: number,
    private readonly ratio: number,
    private readonly source: string,
  ) {
    this.limit = Math.max(archiveBytes * ratio, DEFAULT_EXPANSION_FLOOR_MIB * 1024 * 1024);
  }

  add(bytes: number): void {
    this.unpacked += bytes;
    if (this.unpacked > this.limit) {
      throw new UsageError(
        `refusing to extract ${this.source}: it unpacks to more than ${this.ratio} times its size (past ${Math.round(this.limit / 1024 / 1024)} MiB), as a decompression bomb does; nothing was stored. If you trust it, raise the limit with --max-expansion`,
        'EARCHIVEBOMB',
      );
    }
  }
}
