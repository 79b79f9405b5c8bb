import { UsageError } from '../core/errors.js';
import { parseDuration } from '../core/config.js';
import { parseRef, validateTagName } from '../core/refs.js';
import { DEFAULT_SYNC_MS, NAME, type InputSpec, type OutputSpec } from './spec.js';

/** `jobs exec --input NAME=REF` (or NAME=https://…): one input, checked like a spec's. */
export function parseExecInput(text: string): InputSpec {
  const [name, value] = splitAssignment(text, '--input');
  if (/^https?:\/\//.test(value)) return { name, line: 0, kind: 'http', url: value, extract: false };
  try {
    parseRef(value);
  } catch (error) {
    throw new UsageError(`--input ${text}: ${(error as Error).message}`, 'EREF');
  }
  return { name, line: 0, kind: 'dataset', ref: value };
}

/** `jobs exec --output NAME=DATASET[:TAG][,sync=30s][,deleteSync=false]`. */
export function parseExecOutput(text: string, defaultSync = DEFAULT_SYNC_MS): OutputSpec {
  const [name, value] = splitAssignment(text, '--output');
  const [ref, ...options] = value.split(',');
  const fail = (why: string): never => {
    throw new UsageError(`--output ${text}: ${why}`, 'EUSAGE');
  };
  let parsed;
  try {
    parsed = parseRef(ref!);
    if (parsed.selector !== undefined) validateTagName(parsed.selector);
  } catch (error) {
    return fail((error as Error).message);
  }
  const output: OutputSpec = { name, line: 0, dataset: parsed.dataset, syncMs: defaultSync, deleteSync: true };
  if (parsed.selector !== undefined) output.tag = parsed.selector;
  for (const option of options) {
    const [key, v] = option.split('=');
    if (key === 'sync') {
      if (v === 'off') output.syncMs = null;
      else {
        try {
          output.syncMs = parseDuration(v ?? '');
        } catch {
          fail(`sync "${v}" is not an interval (e.g. 30s, 10m) or off`);
        }
      }
    } else if (key === 'deleteSync' && (v === 'true' || v === 'false')) output.deleteSync = v === 'true';
    else if (key === 'storageProviderId' && v) output.storageProviderId = v;
    else fail(`unknown option "${option}" (sync=30s, deleteSync=false, storageProviderId=ID)`);
  }
  return output;
}

function splitAssignment(text: string, flag: string): [string, string] {
  const at = text.indexOf('=');
  const name = text.slice(0, at);
  if (at <= 0 || !NAME.test(name) || at === text.length - 1) {
    throw new UsageError(`${flag} ${text}: expected NAME=VALUE with NAME of letters, digits, "_" and "-"`, 'EUSAGE');
  }
  return [name, text.slice(at + 1)];
}
