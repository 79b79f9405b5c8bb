import type { AppContext } from './context.js';
import { readConfig } from '../core/config.js';

/**
 * Transfers in flight by default. Small files are bound by requests, not bytes, so many go at
 * once. Reads want more than writes: a GET of a small object often waits ~40 ms for its last
 * segment (a server that holds it back for the ACK of the first, while the client delays that
 * ACK: seen on Ceph RGW), time in which a deeper queue keeps both ends busy.
 */
const DEFAULTS = { put: 32, get: 64 } as const;

/** --concurrency, else `concurrency` in the config file, else the default for reads or writes. */
export function transferConcurrency(ctx: AppContext, given: number | undefined, kind: 'put' | 'get'): number {
  if (given !== undefined) return given;
  const configured = readConfig(ctx.paths.config).concurrency;
  return configured === undefined ? DEFAULTS[kind] : Number(configured);
}
