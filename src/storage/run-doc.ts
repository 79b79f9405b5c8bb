import { DATASET_ID, VERSION_ID } from '../core/ids.js';
import type { RunInput, RunOutput, RunStatus } from '../core/model.js';
import { parseJsonDoc, refuse } from './records.js';

/**
 * A run handed to a cluster scheduler keeps its record in the bucket (runs/<run>.json): the
 * submitter writes it pending, the node's `jobs exec` running and then final, with the exact
 * versions it read and made, so no one needs the node's catalog. Read back as untrusted input.
 */
export interface RunDoc {
  format: 'strata.run/1';
  id: string;
  job: string;
  command: string;
  status: RunStatus;
  exitCode: number | null;
  slurmJobId: string | null;
  host: string | null;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  inputs: RunInput[];
  outputs: RunOutput[];
}

export const RUN_ID = /^run[a-z0-9]{12}$/;
export const runKey = (runId: string): string => `runs/${runId}.json`;

const STATUSES: readonly RunStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'lost'];

export function parseRunDoc(key: string, bytes: Buffer): RunDoc {
  const fail = (what: string): never => refuse(key, what);
  const v = parseJsonDoc(key, bytes, 'strata.run/1');
  const str = (f: string, p?: RegExp): string =>
    typeof v[f] === 'string' && (!p || p.test(v[f])) ? v[f] : fail(`bad or missing "${f}"`);
  const opt = (f: string, p?: RegExp): string | null => (v[f] === null || v[f] === undefined ? null : str(f, p));
  const status = str('status') as RunStatus;
  if (!STATUSES.includes(status)) fail('bad "status"');
  const exitCode = v.exitCode === null || v.exitCode === undefined ? null : v.exitCode;
  if (exitCode !== null && !Number.isInteger(exitCode)) fail('bad "exitCode"');
  const list = (f: string): Record<string, unknown>[] =>
    Array.isArray(v[f]) && (v[f] as unknown[]).every((x) => typeof x === 'object' && x !== null)
      ? (v[f] as Record<string, unknown>[])
      : fail(`bad "${f}"`);
  const s = (x: unknown, p?: RegExp): string | null =>
    x === null || x === undefined ? null : typeof x === 'string' && (!p || p.test(x)) ? x : fail('bad input or output');
  return {
    format: 'strata.run/1',
    id: str('id', RUN_ID),
    job: str('job'),
    command: str('command'),
    status,
    exitCode: exitCode as number | null,
    slurmJobId: opt('slurmJobId', /^\d+$/),
    host: opt('host'),
    updatedAt: str('updatedAt'),
    startedAt: opt('startedAt'),
    endedAt: opt('endedAt'),
    inputs: list('inputs').map((i) => ({
      name: s(i.name) ?? fail('an input without a name'),
      datasetId: s(i.datasetId, DATASET_ID),
      versionId: s(i.versionId, VERSION_ID),
      url: s(i.url),
      commit: s(i.commit),
    })),
    outputs: list('outputs').map((o) => ({
      name: s(o.name) ?? fail('an output without a name'),
      datasetId: s(o.datasetId, DATASET_ID) ?? fail('an output without a dataset'),
      versionId: s(o.versionId, VERSION_ID) ?? fail('an output without a version'),
      committed: o.committed === true,
    })),
  };
}
