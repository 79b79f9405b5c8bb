import { createReadStream, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AppContext } from '../services/context.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { reportError } from '../ui/errors.js';
import { spoolVersionFile, versionFile } from '../services/file-content.js';
import { apiRoutes, type Route } from './api.js';
import { fileHeaders, Guard, secureHeaders } from './guard.js';
import { inlineImageType } from './preview.js';

export interface UiOptions {
  host: string;
  port: number;
  maxUploadBytes: number;
}

export interface RunningUi {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** The page's files, built by scripts/build.js into dist/web and read once at start. */
const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};
const ASSET_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** HTTP status of each exit-code class of the CLI. */
const STATUS: Record<number, number> = {
  [ExitCode.usage]: 400,
  [ExitCode.notFound]: 404,
  [ExitCode.conflict]: 409,
  [ExitCode.integrity]: 502,
  [ExitCode.storage]: 502,
  [ExitCode.environment]: 500,
};

/**
 * `strata ui`: the web app and its API from this process, on loopback unless told otherwise.
 * Requests are served one use case at a time against the same catalog and storage the CLI uses.
 */
export async function serveUi(ctx: AppContext, options: UiOptions): Promise<RunningUi> {
  const assets = loadAssets();
  const routes = apiRoutes({ maxUploadBytes: options.maxUploadBytes });
  const guard = new Guard();
  const server = createServer((req, res) => {
    void handle(ctx, guard, assets, routes, req, res);
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // uploads of many files take as long as they take
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  guard.listening(options.host, port);
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/?token=${guard.token}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function loadAssets(): Map<string, Buffer> {
  const dir = new URL('./web/', import.meta.url);
  const assets = new Map<string, Buffer>();
  for (const name of new Set(Object.values(ASSETS))) {
    try {
      assets.set(name, readFileSync(new URL(name, dir)));
    } catch {
      throw new UsageError(`the web app is not built (${name} missing beside the CLI): run npm run build`, 'ENOASSETS');
    }
  }
  return assets;
}

async function handle(
  ctx: AppContext,
  guard: Guard,
  assets: Map<string, Buffer>,
  routes: Route[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  secureHeaders(res);
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://strata.invalid');
  } catch {
    return send(res, 400, { error: { code: 'EUSAGE', message: 'bad request URL' } });
  }
  const refused = guard.refusal(req, url);
  if (refused) return send(res, refused.status, { error: { code: refused.code, message: refused.message } });
  if (req.method === 'GET' && url.pathname === '/' && url.searchParams.has('token')) {
    if (guard.landing(url)) res.setHeader('Set-Cookie', guard.cookie());
    res.writeHead(303, { Location: '/' });
    return void res.end();
  }
  if (url.pathname === '/favicon.ico') return void res.writeHead(204).end(); // none, and no 404 in the console
  const asset = ASSETS[url.pathname];
  if (asset && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'Content-Type': ASSET_TYPES[asset]! });
    return void res.end(req.method === 'HEAD' ? undefined : assets.get(asset));
  }
  try {
    const content = /^\/api\/versions\/([^/]+)\/content$/.exec(url.pathname);
    if (content && req.method === 'GET') return await sendFile(ctx, decodeParam(content[1]!), url, res, abort);
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match || route.method !== req.method) continue;
      const params = match.slice(1).map(decodeParam);
      const result = await route.handle(ctx, { url, params, req, signal: abort.signal });
      res.setHeader('Server-Timing', `app;dur=${(performance.now() - started).toFixed(1)}`);
      return send(res, 200, result);
    }
    send(res, 404, { error: { code: 'ENOTFOUND', message: `no ${req.method} ${url.pathname} here` } });
  } catch (error) {
    const report = reportError(error);
    const status = report.code === 'ETOOLARGE' ? 413 : (STATUS[report.exitCode] ?? 500);
    if (!req.complete) res.setHeader('Connection', 'close'); // an unread body is not read after a refusal
    send(res, status, { error: { code: report.code, message: report.message } });
  }
}

/**
 * One file of a version, checked against its sha256 before its first byte is sent. Raster images
 * may be shown inline; everything else (HTML, SVG, scripts) is an attachment of a neutral type,
 * under a CSP sandbox, so nothing in a dataset can run as this origin.
 */
async function sendFile(
  ctx: AppContext,
  ref: string,
  url: URL,
  res: ServerResponse,
  abort: AbortController,
): Promise<void> {
  const found = versionFile(ctx, { id: ref, path: url.searchParams.get('path') ?? '' });
  const spooled = await spoolVersionFile(ctx, found, abort.signal);
  const name = found.file.path.split('/').at(-1)!;
  const image = url.searchParams.get('inline') === '1' ? inlineImageType(found.file.path) : undefined;
  fileHeaders(res);
  res.writeHead(200, {
    'Content-Type': image ?? 'application/octet-stream',
    'Content-Length': found.file.size,
    'Content-Disposition': `${image ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
  });
  const stream = createReadStream(spooled.path);
  stream.pipe(res);
  await new Promise<void>((resolve) => {
    stream.once('close', resolve);
    res.once('close', () => stream.destroy());
  });
  await spooled.remove();
}

function decodeParam(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`malformed percent-encoding in "${text.slice(0, 100)}"`, 'EUSAGE');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(text);
}
