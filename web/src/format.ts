export { formatBytes as bytes } from '../../src/core/bytes.js';

export const when = (iso: string | null | undefined): string =>
  iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';

export const mode = (m: number | undefined): string =>
  m === undefined ? '' : (m & 0o7777).toString(8).padStart(4, '0');

export const count = (n: number): string => n.toLocaleString('en-US');
