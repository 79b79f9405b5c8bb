import { DATASET_ID, PROVIDER_ID } from './ids.js';
import { UsageError } from './errors.js';

/** Names of datasets, providers and tags: letters, digits, `.`, `_`, `-`. */
const NAME = /^[A-Za-z0-9._-]+$/;
const MAX_NAME = 128;

export const LATEST = 'latest';

export interface Ref {
  /** dataset id or name */
  dataset: string;
  /** version id or tag; undefined or `latest` mean the latest committed version */
  selector?: string;
}

export function parseRef(text: string): Ref {
  const parts = text.split(':');
  const [dataset, selector] = parts;
  if (parts.length > 2 || !dataset || selector === '') {
    throw new UsageError(`malformed ref "${text}": expected DATASET[:VERSION|:TAG|:latest]`, 'EREF');
  }
  if (!NAME.test(dataset) || (selector !== undefined && !NAME.test(selector))) {
    throw new UsageError(`malformed ref "${text}": names use only letters, digits, ".", "_" and "-"`, 'EREF');
  }
  return selector === undefined ? { dataset } : { dataset, selector };
}

/** A dataset alone (id or name), where a command takes no version: anything else is malformed. */
export function parseDatasetRef(text: string): string {
  if (!NAME.test(text)) {
    const hint = text.includes(':') ? ' (this takes a dataset, not DATASET:VERSION)' : '';
    throw new UsageError(`malformed dataset "${text}": expected a dataset id or name${hint}`, 'EREF');
  }
  return text;
}

/** A ref that must name one version explicitly: DATASET:VERSION. */
export function parseVersionRef(text: string): Required<Ref> {
  const ref = parseRef(text);
  if (ref.selector === undefined) {
    throw new UsageError(`"${text}" names no version: expected DATASET:VERSION`, 'EREF');
  }
  return { dataset: ref.dataset, selector: ref.selector };
}

export function formatRef(datasetId: string, versionId: string): string {
  return `${datasetId}:${versionId}`;
}

function checkName(kind: string, name: string): void {
  if (!NAME.test(name) || name.length > MAX_NAME) {
    throw new UsageError(`invalid ${kind} "${name}": use 1–${MAX_NAME} letters, digits, ".", "_" or "-"`, 'ENAME');
  }
  // They name directories and objects (datasets/<id>/tags/<tag>.json), where these mean something else.
  if (name === '.' || name === '..')
    throw new UsageError(`invalid ${kind} "${name}": "." and ".." are reserved`, 'ENAME');
}

export function validateDatasetName(name: string): void {
  checkName('dataset name', name);
  if (DATASET_ID.test(name)) {
    throw new UsageError(`invalid dataset name "${name}": it looks like a dataset id`, 'ENAME');
  }
  if (name === LATEST) throw new UsageError(`"${LATEST}" is reserved`, 'ENAME');
}

export function validateProviderName(name: string): void {
  checkName('storage provider name', name);
  if (PROVIDER_ID.test(name)) {
    throw new UsageError(`invalid storage provider name "${name}": it looks like an id`, 'ENAME');
  }
}

export function validateTagName(name: string): void {
  checkName('tag', name);
  if (name === LATEST) {
    throw new UsageError(`"${LATEST}" is reserved: it always means the newest committed version`, 'ENAME');
  }
}
