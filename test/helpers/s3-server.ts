// Starts and stops a throwaway single-node Ceph RGW (real S3) through scripts/s3-server.sh.
// Each server lives in its own fresh temporary directory, on free ports, so several can run at once.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3ServerInfo {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  baseDir: string;
}

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/s3-server.sh');

/** Hard limit on the script: an apt-get install (~1 min) plus the script's own 90 s bound, with room to spare. */
const START_TIMEOUT_MS = 5 * 60_000;
const STOP_TIMEOUT_MS = 60_000;

/** Servers started by this process and not yet stopped: stopped on process exit if a teardown never ran. */
const running = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const baseDir of running) {
      spawnSync('bash', [SCRIPT, 'stop', baseDir], { stdio: 'ignore', timeout: STOP_TIMEOUT_MS });
    }
  });
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // TERM on timeout: the script's trap then stops the daemons it had started.
    const child = spawn('bash', [SCRIPT, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGTERM',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    // Should a daemon ever inherit our pipes, 'close' would wait for it: settle soon after 'exit' anyway.
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolvePromise({ code, signal, stdout, stderr });
      }, 2_000);
    });
  });
}

function lastLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-count);
}

function parseInfo(stdout: string): S3ServerInfo | undefined {
  const line = lastLines(stdout, 1)[0];
  if (line === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Record<string, unknown>;
    const keys = ['endpoint', 'accessKey', 'secretKey', 'region', 'baseDir'] as const;
    if (!keys.every((key) => typeof record[key] === 'string' && record[key] !== '')) return undefined;
    return value as S3ServerInfo;
  } catch {
    return undefined;
  }
}

/**
 * Starts a fresh server (installing the Ceph packages first if they are missing) and resolves once it
 * answers S3 requests. Rejects with the script's one-line reason, followed by the end of its output;
 * on failure the base directory is kept for its logs and named in the message.
 */
export async function startS3Server(options: { memstoreBytes?: number } = {}): Promise<S3ServerInfo> {
  const baseDir = await mkdtemp(join(tmpdir(), 'strata-s3-'));
  installExitHook();
  running.add(baseDir);
  let result: RunResult;
  try {
    const env = options.memstoreBytes ? { S3_SERVER_MEMSTORE_BYTES: String(options.memstoreBytes) } : {};
    result = await runScript(['start', baseDir], START_TIMEOUT_MS, env);
  } catch (error) {
    running.delete(baseDir);
    throw new Error(`S3 test server did not start: cannot run ${SCRIPT}: ${String(error)}`);
  }
  const info = result.code === 0 ? parseInfo(result.stdout) : undefined;
  if (info === undefined) {
    running.delete(baseDir);
    // On failure the script has already stopped what it started and kept its logs; after a
    // success without a readable JSON line the daemons are up, so stop them (and the directory).
    if (result.code === 0) await runScript(['stop', baseDir], STOP_TIMEOUT_MS).catch(() => undefined);
    const tail = lastLines(result.stderr, 40);
    const reason =
      result.code === 0
        ? `no JSON line on stdout (got ${JSON.stringify(result.stdout.slice(-200))})`
        : (tail.at(-1) ??
          (result.signal
            ? `killed by ${result.signal} after ${START_TIMEOUT_MS / 1000} s`
            : `exit code ${result.code}`));
    throw new Error(
      `S3 test server did not start: ${reason}\n(base directory ${baseDir}; last output of ${SCRIPT}:)\n${tail.join('\n')}`,
    );
  }
  return info;
}

/** Stops a server started by startS3Server and removes its directory. A no-op for servers it did not start. */
export async function stopS3Server(info: S3ServerInfo): Promise<void> {
  if (!running.has(info.baseDir)) return;
  const result = await runScript(['stop', info.baseDir], STOP_TIMEOUT_MS);
  running.delete(info.baseDir);
  if (result.code !== 0) {
    throw new Error(
      `S3 test server did not stop cleanly: ${lastLines(result.stderr, 1)[0] ?? `exit code ${result.code}`}`,
    );
  }
}

/** Kills the server's radosgw and starts it again (objects stay); resolves once it answers. Own servers only. */
export async function restartRgw(info: S3ServerInfo): Promise<void> {
  if (!running.has(info.baseDir)) throw new Error('only a server this process started can be restarted');
  const result = await runScript(['restart-rgw', info.baseDir], START_TIMEOUT_MS);
  if (result.code !== 0) throw new Error(`radosgw did not restart: ${lastLines(result.stderr, 3).join(' ')}`);
}
