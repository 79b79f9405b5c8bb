import type { VersionView } from '../services/versions.js';
import { details, formatBytes } from './table.js';

export function versionDetailsText(v: VersionView & { datasetName?: string }): string {
  return details([
    ['ID', v.ref],
    ...(v.datasetName ? [['Dataset', v.datasetName] as [string, string]] : []),
    ['Message', v.message],
    ['Committed', v.isCommitted],
    ['Tags', v.tags.join(', ')],
    ['Files', v.fileCount],
    ['Size', formatBytes(v.size)],
    ['Created', v.createdAt],
    ['Committed at', v.committedAt],
  ]);
}
