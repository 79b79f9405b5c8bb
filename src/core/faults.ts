/**
 * Crash points for tests of resumability: with STRATA_FAULT=<name>[:<count>], the process kills
 * itself with SIGKILL the count-th time (default first) it passes that point, exactly as a
 * power cut or `kill -9` would. Unset, it costs one comparison.
 */
const [, name, count] = /^(.*?)(?::(\d+))?$/.exec(process.env.STRATA_FAULT ?? '')!;
let remaining = Number(count ?? 1) || 1;

export function faultPoint(point: 'put:after-batch' | 'put:in-transaction' | 'put:multipart-part'): void {
  if (name !== point || remaining <= 0) return;
  remaining -= 1;
  // STRATA_FAULT_SIGNAL=SIGINT stands for Ctrl-C instead of a crash.
  if (remaining <= 0) process.kill(process.pid, (process.env.STRATA_FAULT_SIGNAL as NodeJS.Signals) || 'SIGKILL');
}
