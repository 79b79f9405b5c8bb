import { SHA256_HEX } from '../core/ids.js';
import { parseJsonDoc, refuse } from './records.js';

/**
 * The documents packs add to a bucket (docs/packs.md): each pack's table, and the bucket's format
 * document. Both are untrusted input when read back: every field is checked, and a bad document is
 * refused with an error naming its key.
 */

/** A blob in a pack: its sha256, and bytes [offset, offset + size) of the pack. */
export interface PackEntry {
  sha256: string;
  offset: number;
  size: number;
}

export interface PackTableDoc {
  format: 'strata.pack/1';
  /** the pack's sha256: its key, and the check of its bytes */
  pack: string;
  size: number;
  /** [sha256, offset, size], in offset order */
  blobs: [string, number, number][];
}

export const packTableDoc = (pack: string, size: number, entries: readonly PackEntry[]): PackTableDoc => ({
  format: 'strata.pack/1',
  pack,
  size,
  blobs: entries.map((e) => [e.sha256, e.offset, e.size]),
});

/**
 * A pack's table, checked against the pack it names (`packId`, from its key) and the size the
 * pack object has in the bucket (`packSize`; undefined: the pack is missing): every entry inside
 * the pack, none overlapping another, no blob twice.
 */
export function parsePackTable(key: string, bytes: Buffer, packId: string, packSize: number | undefined): PackEntry[] {
  const doc = parseJsonDoc(key, bytes, 'strata.pack/1');
  if (doc.pack !== packId) refuse(key, 'names another pack than its key');
  if (packSize === undefined) refuse(key, 'its pack is missing');
  if (doc.size !== packSize) refuse(key, `says its pack has ${String(doc.size)} bytes; the bucket holds ${packSize}`);
  if (!Array.isArray(doc.blobs)) refuse(key, '"blobs" is not a list');
  const entries: PackEntry[] = [];
  const seen = new Set<string>();
  let end = 0;
  for (const [i, row] of (doc.blobs as unknown[]).entries()) {
    if (!Array.isArray(row) || row.length !== 3) return refuse(key, `entry #${i} is not [sha256, offset, size]`);
    const [sha256, offset, size] = row as unknown[];
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256))
      return refuse(key, `entry #${i}: sha256 is not 64 hex digits`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || (offset as number) < 0 || (size as number) < 0)
      return refuse(key, `entry #${i}: bad offset or size`);
    if ((offset as number) < end) refuse(key, `entry #${i} overlaps the one before it`);
    end = (offset as number) + (size as number);
    if (end > packSize!) refuse(key, `entry #${i} ends past the end of its pack`);
    if (seen.has(sha256)) refuse(key, `blob ${sha256} appears twice`);
    seen.add(sha256);
    entries.push({ sha256, offset: offset as number, size: size as number });
  }
  return entries;
}

/** The features of a bucket's layout this Strata reads and writes; a bucket naming others is refused. */
export const KNOWN_FEATURES = ['packs/1'] as const;

export interface FormatDoc {
  format: 'strata.bucket/1';
  features: string[];
}

export const formatDoc = (): FormatDoc => ({ format: 'strata.bucket/1', features: [...KNOWN_FEATURES] });

/**
 * The bucket's format document. A later layout is refused with "upgrade Strata" by the caller: a
 * format this Strata does not know, or a feature it does not name.
 */
export function parseFormatDoc(key: string, bytes: Buffer): { features: string[]; unknown: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return refuse(key, 'not valid JSON');
  }
  const doc = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof doc.format !== 'string' || !doc.format.startsWith('strata.bucket/'))
    refuse(key, 'not a strata.bucket document');
  const features = doc.features;
  if (!Array.isArray(features) || !features.every((f) => typeof f === 'string'))
    refuse(key, '"features" is not a list');
  const known = new Set<string>(KNOWN_FEATURES);
  const unknown = (features as string[]).filter((f) => !known.has(f));
  if (doc.format !== 'strata.bucket/1') unknown.unshift(doc.format as string);
  return { features: features as string[], unknown };
}
