import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { namespaceArgv, type Isolation, type NamespacePlan } from './isolation.js';

export interface Syncer {
  name: string;
  intervalMs: number;
  sync(): Promise<void>;
}

export interface ProcessPlan {
  command: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isolation: Isolation;
  namespace: NamespacePlan;
  logPath: string;
  stdout: Writable;
  stderr: Writable;
  syncers: Syncer[];
  onSyncError(syncer: string, error: unknown): void;
  onStart?(pid: number): void;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs a job's command to its end: output streamed to the terminal and the log file, each
 * syncer called every interval while it runs (never two of one at once), and a watchdog that
 * kills the whole job (its process group; with namespaces, its PID namespace) if this runner
 * dies, so a job never outlives a killed runner.
 */
export async function runProcess(plan: ProcessPlan): Promise<ProcessResult> {
  const argv =
    plan.isolation === 'namespace' ? namespaceArgv(plan.namespace, plan.command) : ['/bin/sh', '-c', plan.command];
  const log = createWriteStream(plan.logPath, { flags: 'a' });
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: plan.cwd,
    env: plan.env,
    stdio: ['inherit', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  for (const [from, to] of [
    [child.stdout, plan.stdout],
    [child.stderr, plan.stderr],
  ] as const) {
    from.on('data', (chunk: Buffer) => {
      to.write(chunk);
      log.write(chunk);
    });
  }
  if (child.pid !== undefined) {
    startWatchdog(child.pid);
    plan.onStart?.(child.pid);
  }
  // Ctrl-C reaches the job's group too (it is detached from ours); the runner then finishes up.
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    }
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  const stop = new AbortController();
  const loops = plan.syncers.map(async (s) => {
    while (!stop.signal.aborted) {
      await sleep(s.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) break;
      await s.sync().catch((error: unknown) => plan.onSyncError(s.name, error));
    }
  });
  try {
    return await exited;
  } finally {
    stop.abort();
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
    await Promise.all(loops); // a sync in flight finishes before the final one starts
    await new Promise((resolve) => log.end(resolve));
  }
}

/** A tiny detached shell that kills the job's process group once this runner is gone. */
function startWatchdog(jobPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${jobPid} 2>/dev/null; do sleep 0.5; done; kill -KILL -${jobPid} 2>/dev/null; exit 0`;
  const dog = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  dog.unref();
}
