import type { Provenance, ProvenanceInput } from '../core/model.js';
import { DATASET_ID, RUN_ID, VERSION_ID } from '../core/ids.js';
import { shownGitUrl } from '../core/display-url.js';

/** Inputs one provenance may name: more is not a job spec's, it is a document made to hurt. */
const MAX_INPUTS = 1000;
/** Longest text field kept (a job's script may be long; a megabyte is not one). */
const MAX_TEXT = 256 * 1024;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const COMMIT = /^[0-9a-f]{7,64}$/;
const NAME = /^[A-Za-z0-9._-]{1,200}$/;

class Dropped extends Error {}

/**
 * The optional provenance of a manifest, read as untrusted input: anything malformed drops the
 * whole provenance (said in `dropped`) and never the version, which stays usable without it.
 * URLs are shown as runs record them (no credentials, no query), whatever the document holds.
 */
export function parseProvenance(value: unknown): { provenance?: Provenance; dropped?: string } {
  if (value === undefined) return {};
  try {
    const p = object(value, 'provenance');
    const inputs = p.inputs;
    if (!Array.isArray(inputs) || inputs.length > MAX_INPUTS) throw new Dropped('"inputs" is not a list of inputs');
    return {
      provenance: {
        runId: text(p.runId, 'runId', RUN_ID),
        job: text(p.job, 'job', NAME),
        command: text(p.command, 'command', undefined, true),
        exitCode: p.exitCode === null ? null : integer(p.exitCode, 'exitCode'),
        startedAt: text(p.startedAt, 'startedAt', TIME),
        endedAt: p.endedAt === null ? null : text(p.endedAt, 'endedAt', TIME),
        inputs: inputs.map((input: unknown, i) => parseInput(input, i)),
      },
    };
  } catch (error) {
    if (error instanceof Dropped) return { dropped: error.message };
    throw error;
  }
}

function parseInput(value: unknown, i: number): ProvenanceInput {
  const input = object(value, `input #${i}`);
  const field = (name: string, pattern?: RegExp): string | null =>
    input[name] === null || input[name] === undefined ? null : text(input[name], `input #${i} ${name}`, pattern);
  const parsed: ProvenanceInput = {
    name: text(input.name, `input #${i} name`, NAME),
    datasetId: field('datasetId', DATASET_ID),
    datasetName: field('datasetName', NAME),
    versionId: field('versionId', VERSION_ID),
    url: field('url'),
    commit: field('commit', COMMIT),
  };
  if (
    (parsed.datasetId === null) !== (parsed.versionId === null) ||
    (parsed.url === null) === (parsed.datasetId === null)
  )
    throw new Dropped(`input #${i} names neither a dataset version nor a URL`);
  if (parsed.url !== null) parsed.url = shownGitUrl(parsed.url);
  return parsed;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Dropped(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/** Control characters would reach a terminal as they are; a command may span lines. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f]/;

function text(value: unknown, what: string, pattern?: RegExp, lines = false): string {
  if (typeof value !== 'string' || value.length > MAX_TEXT || (lines ? CONTROL_BUT_LINES : CONTROL).test(value))
    throw new Dropped(`bad "${what}"`);
  if (pattern && !pattern.test(value)) throw new Dropped(`bad "${what}"`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value)) throw new Dropped(`bad "${what}"`);
  return value as number;
}
