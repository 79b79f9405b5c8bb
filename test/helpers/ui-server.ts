// `strata ui` for the API suites: the built CLI serving on a free loopback port, and a small HTTP
// client over node:http (not fetch: the tests send Host headers of their choosing, bodies without
// a Content-Length, and read a 303 as it is).
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import { BIN, userEnv, type CliResult } from './cli.js';
import type { FolderEntry, FolderPage } from '../../src/services/folders.js';

export interface RunningUi {
  /** the URL printed on stdout, with ?token= */
  url: string;
  /** http://127.0.0.1:PORT */
  base: string;
  port: number;
  token: string;
  /** SIGTERM, then what the process printed and how it ended */
  stop(): Promise<CliResult>;
}

/** `strata ui` processes not yet ended: a file whose afterAll never ran leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

const URL_LINE = /^Strata UI: (http:\/\/[^/\s]+:(\d+))\/\?token=(\S+)$/m;
const START_TIMEOUT = 20_000;

/**
 * Starts `strata ui --no-open --port 0 [args]` on STRATA_HOME=home and resolves once it printed
 * its URL; rejects with what it printed if it ends first or prints nothing for 20 s.
 */
export function startUi(
  home: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): Promise<RunningUi> {
  const child = spawn(
    process.execPath,
    [process.env.STRATA_TEST_BIN || BIN, 'ui', '--no-open', '--port', '0', ...args],
    {
      cwd,
      env: { ...userEnv(), STRATA_HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  running.add(child);
  const ended = new Promise<CliResult>((done) => {
    child.on('error', (error) => done({ code: null, signal: null, stdout, stderr: `${stderr}${String(error)}` }));
    child.on('close', (code, signal) => {
      running.delete(child);
      done({ code, signal, stdout, stderr });
    });
  });
  const stop = async (): Promise<CliResult> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await ended;
    } finally {
      clearTimeout(late);
    }
  };
  return new Promise<RunningUi>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().then((r) => reject(new Error(`strata ui printed no URL in ${START_TIMEOUT} ms\n${r.stderr}`)));
    }, START_TIMEOUT);
    const onData = (): void => {
      const m = URL_LINE.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ url: m[0].slice('Strata UI: '.length), base: m[1]!, port: Number(m[2]), token: m[3]!, stop });
    };
    child.stdout.on('data', onData);
    void ended.then((r) => {
      clearTimeout(timer);
      reject(new Error(`strata ui ended (${r.code ?? r.signal}) before it served\n${r.stdout}${r.stderr}`));
    });
  });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = unknown>(): T;
}

export interface CallOptions {
  method?: string;
  /** a Buffer or string as is; anything else as JSON */
  body?: unknown;
  headers?: Record<string, string>;
  /** the bearer token; null for none (default: the session's) */
  token?: string | null;
  /** the Host header (default: the one of base) */
  host?: string;
  /** x-strata-request: 1 on a change (default: true) */
  state?: boolean;
  /** send the body chunked, without a Content-Length */
  chunked?: boolean;
}

export type Api = (path: string, options?: CallOptions) => Promise<Reply>;

/** Requests to a running UI: bearer-authenticated and with x-strata-request on changes unless told otherwise. */
export function api(base: string, token: string): Api {
  const origin = new URL(base);
  return (path, options = {}) => {
    const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
    const headers: Record<string, string> = { host: options.host ?? origin.host, ...options.headers };
    const bearer = options.token === undefined ? token : options.token;
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    if (method !== 'GET' && method !== 'HEAD' && options.state !== false) headers['x-strata-request'] = '1';
    let body: Buffer | undefined;
    if (Buffer.isBuffer(options.body)) body = options.body;
    else if (typeof options.body === 'string') body = Buffer.from(options.body);
    else if (options.body !== undefined) {
      body = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    if (body)
      headers[options.chunked ? 'transfer-encoding' : 'content-length'] = options.chunked
        ? 'chunked'
        : String(body.length);
    return new Promise<Reply>((resolve, reject) => {
      const req = request({ host: origin.hostname, port: origin.port, path, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          const text = all.toString('utf8');
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: all,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

export interface UploadFile {
  path: string;
  content: Buffer | string;
  mtimeMs?: number;
  /** the size the file list states (default: the content's) */
  size?: number;
}

/** An upload body as the page frames it: [uint32 BE n][n bytes of JSON file list][the files' bytes]. */
export function uploadBody(files: UploadFile[]): Buffer {
  const contents = files.map((f) => Buffer.from(f.content));
  const list = Buffer.from(
    JSON.stringify({
      files: files.map((f, i) => ({ path: f.path, size: f.size ?? contents[i]!.length, mtimeMs: f.mtimeMs ?? 1.7e12 })),
    }),
  );
  const head = Buffer.alloc(4);
  head.writeUInt32BE(list.length, 0);
  return Buffer.concat([head, list, ...contents]);
}

/** The headers every response has. */
export function expectSecure(r: Reply): void {
  expect(r.headers['referrer-policy']).toBe('no-referrer');
  expect(r.headers['x-content-type-options']).toBe('nosniff');
  expect(r.headers['content-security-policy']).toMatch(/default-src 'none'/);
}

/** A JSON error reply {error: {code, message}} of this status (and code); returns the error. */
export function expectError(r: Reply, status: number, code?: string): { code: string; message: string } {
  expectSecure(r);
  expect(String(r.headers['content-type']), r.text).toMatch(/^application\/json/);
  const { error } = r.json<{ error: { code: string; message: string } }>();
  expect({ status: r.status, code: error?.code, message: typeof error?.message }, r.text).toEqual({
    status,
    code: code ?? error?.code,
    message: 'string',
  });
  return error;
}

export type { FolderEntry, FolderPage };

/** Every file of a version as the API pages it (a few entries a page), folder by folder. */
export async function walkFiles(call: Api, ref: string, path = ''): Promise<FolderEntry[]> {
  const out: FolderEntry[] = [];
  let after: string | null = null;
  do {
    const q = `path=${encodeURIComponent(path)}&limit=3${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
    const reply = await call(`/api/versions/${encodeURIComponent(ref)}/files?${q}`);
    expect(reply.status, reply.text).toBe(200);
    const page = reply.json<FolderPage>();
    for (const e of page.entries) out.push(...(e.type === 'dir' ? await walkFiles(call, ref, e.path) : [e]));
    after = page.after;
  } while (after !== null);
  return out;
}
