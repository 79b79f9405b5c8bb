/** DESIGN.md's bucket layout: the one place object keys are spelled. */

export const BLOBS_PREFIX = 'blobs/sha256/';
export const DATASETS_PREFIX = 'datasets/';

export const blobKey = (sha256: string): string => `${BLOBS_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
export const datasetKey = (datasetId: string): string => `${DATASETS_PREFIX}${datasetId}/dataset.json`;
export const datasetPrefix = (datasetId: string): string => `${DATASETS_PREFIX}${datasetId}/`;
export const manifestKey = (datasetId: string, versionId: string): string =>
  `${DATASETS_PREFIX}${datasetId}/versions/${versionId}.json`;
export const tagKey = (datasetId: string, tag: string): string => `${DATASETS_PREFIX}${datasetId}/tags/${tag}.json`;

const BLOB_KEY = /^blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** The sha256 a blob key names, or undefined for any other key. */
export function shaOfBlobKey(key: string): string | undefined {
  const m = BLOB_KEY.exec(key);
  return m && m[2]!.startsWith(m[1]!) ? m[2] : undefined;
}

/** The files of an uncommitted version, rewritten as it changes: garbage collection keeps its blobs. */
export const draftKey = (datasetId: string, versionId: string): string =>
  `${DATASETS_PREFIX}${datasetId}/drafts/${versionId}.json`;

/** The garbage collector's announcement (strata.gc/1): its generation, and whether one is running. */
export const GC_STATE_KEY = 'gc/state.json';

const DRAFT_KEY = /^datasets\/([^/]+)\/drafts\/([^/]+)\.json$/;
const MANIFEST_KEY = /^datasets\/([^/]+)\/versions\/([^/]+)\.json$/;

/** The dataset and version a draft's or a manifest's key names, or undefined for any other key. */
export function versionOfKey(
  key: string,
): { kind: 'draft' | 'manifest'; datasetId: string; versionId: string } | undefined {
  const draft = DRAFT_KEY.exec(key);
  if (draft) return { kind: 'draft', datasetId: draft[1]!, versionId: draft[2]! };
  const manifest = MANIFEST_KEY.exec(key);
  return manifest ? { kind: 'manifest', datasetId: manifest[1]!, versionId: manifest[2]! } : undefined;
}

/**
 * Packs (docs/packs.md): many small blobs in one object, with a table (strata.pack/1) beside it.
 * Both are named by the pack's sha256, so a pack is written once, whoever writes it.
 */
export const PACKS_PREFIX = 'packs/';
export const packKey = (packId: string): string => `${PACKS_PREFIX}${packId.slice(0, 2)}/${packId}.pack`;
export const packTableKey = (packId: string): string => `${PACKS_PREFIX}${packId.slice(0, 2)}/${packId}.json`;

const PACK_KEY = /^packs\/([0-9a-f]{2})\/([0-9a-f]{64})\.(pack|json)$/;

/** The pack a pack's or a table's key names, or undefined for any other key. */
export function packOfKey(key: string): { packId: string; kind: 'pack' | 'table' } | undefined {
  const m = PACK_KEY.exec(key);
  if (!m || !m[2]!.startsWith(m[1]!)) return undefined;
  return { packId: m[2]!, kind: m[3] === 'pack' ? 'pack' : 'table' };
}

/** The bucket's format document (strata.bucket/1): the features its writers used. */
export const FORMAT_KEY = 'strata.json';
