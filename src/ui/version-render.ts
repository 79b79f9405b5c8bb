import type { PutResult } from '../services/files.js';
import type { ProvenanceInput } from '../core/model.js';
import type { versionDetails } from '../services/versions.js';
import { details, formatBytes } from './table.js';

/** A version as a person reads it: the ref by id, which never changes, and its dataset's name beside. */
export function namedRef(v: { ref: string; dataset: string | null }): string {
  return `${v.ref} (${v.dataset ?? 'dataset deleted'})`;
}

/** A run's input: the URL it fetched, or the exact version it read. */
export function runInputText(i: ProvenanceInput): string {
  if (i.commit) return `${i.name}: ${i.url} at ${i.commit}`;
  return `${i.name}: ${i.url ?? namedRef({ ref: `${i.datasetId}:${i.versionId}`, dataset: i.datasetName })}`;
}

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
          ['Made by run', `${p.runId} (job ${p.job}, ${p.exitCode === null ? 'no exit code' : `exit ${p.exitCode}`})`],
          ['Run time', `${p.startedAt} → ${p.endedAt ?? '?'}`],
          ['Command', p.command],
          ['From inputs', p.inputs.map(runInputText).join('\n')],
        ] as [string, string][])
      : []),
  ]);
}

/** What a put stored, in one line: `files put` and `versions create --source-path` alike. */
export function putSummary(r: PutResult): string {
  return `Put ${r.files} file(s), ${formatBytes(r.bytes)} into ${r.ref}: ${formatBytes(r.bytesUploaded)} uploaded, ${formatBytes(r.bytesSkipped)} already stored, ${r.seconds.toFixed(1)} s`;
}
