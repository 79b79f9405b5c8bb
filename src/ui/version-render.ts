import type { versionDetails } from '../services/versions.js';
import { details, formatBytes } from './table.js';

type Details = ReturnType<typeof versionDetails>;

export function versionDetailsText(v: Details): string {
  const p = v.provenance;
  return details([
    ['ID', v.ref],
    ['Dataset', v.datasetName],
    ['Message', v.message],
    ['Committed', v.isCommitted],
    ['Tags', v.tags.join(', ')],
    ['Files', v.fileCount],
    ['Size', formatBytes(v.size)],
    ['Created', v.createdAt],
    ['Committed at', v.committedAt],
    ...(p
      ? ([
          ['Made by run', `${p.runId} (job ${p.job})`],
          ['From inputs', p.inputs.map((i) => `${i.name}: ${i.url ?? `${i.datasetId}:${i.versionId}`}`).join('\n')],
        ] as [string, string][])
      : []),
  ]);
}
