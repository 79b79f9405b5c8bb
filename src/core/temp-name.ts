import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

// Host, pid and a random part once; a counter after. A random name per file costs more than the
// write on the hot path of many small files, and this one is as unique: other processes (on
// other hosts too, for a shared cache) differ in the first part.
const PROCESS_PART = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
let count = 0;

/** A name no other file has, for a temp file written beside its final place and renamed there. */
export const tempName = (prefix: string): string => `${prefix}${PROCESS_PART}-${(++count).toString(36)}`;

/** Temp files in a directory Strata writes files into (a get's target): leftovers are recognizable. */
export const TARGET_TEMP_PREFIX = '.strata-tmp-';

/** A temp file beside `destination`, to be renamed there once written and checked. */
export const tempBeside = (destination: string): string => `${dirname(destination)}/${tempName(TARGET_TEMP_PREFIX)}`;
