import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Names a running process so that another process can later tell whether it is still alive:
 * host, pid, and the pid's start time (from /proc), so a pid reused by a newer process is not
 * taken for the old one. Used for the catalog's claims on a version (a put writing into it, a
 * commit sealing it), which a process killed with SIGKILL leaves behind.
 */
export interface ProcessToken {
  host: string;
  pid: number;
  /** clock ticks since boot at which the process started; 0 where /proc is not there */
  start: number;
}

function startOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

let own: ProcessToken | undefined;

export function thisProcess(): ProcessToken {
  own ??= { host: hostname(), pid: process.pid, start: startOf(process.pid) ?? 0 };
  return own;
}

export const formatToken = (t: ProcessToken): string => `${t.host}:${t.pid}:${t.start}`;

/** A token, or one with a `#n` suffix (a claim among several of one process). */
export function parseToken(text: string): ProcessToken | undefined {
  const m = /^(.*):(\d+):(\d+)(?:#\d+)?$/.exec(text);
  return m ? { host: m[1]!, pid: Number(m[2]), start: Number(m[3]) } : undefined;
}

/**
 * Whether the process a token names may still run. A process on another host cannot be asked:
 * it counts as alive (a catalog is one machine's, so that happens only with a STRATA_HOME on a
 * shared filesystem, which DESIGN.md rules out).
 */
export function isAlive(token: string): boolean {
  const t = parseToken(token);
  if (!t) return false;
  if (t.host !== hostname()) return true;
  try {
    process.kill(t.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = startOf(t.pid);
  return start === undefined || t.start === 0 || start === t.start;
}
