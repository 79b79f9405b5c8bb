/**
 * Crash points for tests of resumability and for `npm run chaos`: with STRATA_FAULT=<name>[:<count>],
 * the process kills itself with SIGKILL the count-th time (default first) it passes that point,
 * exactly as a power cut or `kill -9` would. There is one at every durable step (each write of a
 * bucket document, each catalog transaction, each rename into the cache or a target), since random
 * kills rarely land in their millisecond windows. Unset, it costs one comparison.
 */
export const FAULT_POINTS = [
  'put:after-batch',
  'put:in-transaction',
  'put:multipart-part',
  'pack:sealed',
  'pack:after-pack',
  'pack:after-table',
  'draft:after-put',
  'commit:after-claim',
  'commit:after-manifest',
  'commit:in-transaction',
  'commit:before-draft-delete',
  'tag:after-put',
  'tag:in-transaction',
  'cache:before-rename',
  'target:before-rename',
  'sync:in-transaction',
  'gc:after-claim',
  'gc:after-delete-batch',
  'job:after-sync',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

const [, name, count] = /^(.*?)(?::(\d+))?$/.exec(process.env.STRATA_FAULT ?? '')!;
let remaining = Number(count ?? 1) || 1;

export function faultPoint(point: FaultPoint): void {
  if (name !== point || remaining <= 0) return;
  remaining -= 1;
  // STRATA_FAULT_SIGNAL=SIGINT stands for Ctrl-C instead of a crash.
  if (remaining <= 0) process.kill(process.pid, (process.env.STRATA_FAULT_SIGNAL as NodeJS.Signals) || 'SIGKILL');
}
