import { open } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { AppContext } from '../services/context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { datasetDetails, listDatasets } from '../services/datasets.js';
import { createVersion, latestVersion, listVersions, versionDetails } from '../services/versions.js';
import { listProviders } from '../services/providers.js';
import { folderPage } from '../services/folders.js';
import { readVersionFile, versionFile } from '../services/file-content.js';
import { diffVersions } from '../services/diff.js';
import { lineage } from '../services/lineage.js';
import { listRuns, runDetails } from '../services/runs.js';
import { commitVersion } from '../services/commit.js';
import { setTag } from '../services/tags.js';
import { PREVIEW_MAX_BYTES, previewOf } from './preview.js';
import { uploadInto } from './upload.js';

/** What a handler is given: the parsed URL, its path parameters, the request (for bodies). */
export interface Call {
  url: URL;
  params: string[];
  req: IncomingMessage;
  signal: AbortSignal;
}

export interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handle: (ctx: AppContext, call: Call) => unknown;
}

/** The largest body a JSON request may have (commit messages, tag names). */
const JSON_BODY_MAX = 64 * 1024;
/** Diffs list this many paths of each kind; the counts are always whole. */
const DIFF_LIST_MAX = 2000;
/** A run's log is shown from its end, this much of it. */
const LOG_TAIL = 256 * 1024;

const query = (call: Call, name: string): string | undefined => call.url.searchParams.get(name) ?? undefined;
const required = (call: Call, name: string): string => {
  const value = query(call, name);
  if (value === undefined || value === '') throw new UsageError(`the request needs ?${name}=`, 'EUSAGE');
  return value;
};

/** A query parameter that is a whole number ≥ 1, when given. */
function wholeNumber(call: Call, name: string): number | undefined {
  const text = query(call, name);
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new UsageError(`${name} is a whole number ≥ 1, not "${text}"`, 'EUSAGE');
  return Number(text);
}

/**
 * The HTTP API of `strata ui`: each route is a use case of src/services, as the commands are, so
 * the page and the CLI refuse the same things with the same messages (docs/ui.md lists them).
 */
export function apiRoutes(options: { maxUploadBytes: number }): Route[] {
  return [
    { method: 'GET', pattern: /^\/api\/providers$/, handle: (ctx) => listProviders(ctx).map(publicProvider) },
    { method: 'GET', pattern: /^\/api\/datasets$/, handle: (ctx) => datasetsWithSizes(ctx) },
    {
      method: 'GET',
      pattern: /^\/api\/datasets\/([^/]+)$/,
      handle: (ctx, { params }) => ({
        dataset: datasetDetails(ctx, params[0]!),
        versions: listVersions(ctx, { id: params[0]! }),
      }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/datasets\/([^/]+)\/versions$/,
      handle: async (ctx, call) => {
        const body = await jsonBody(call.req);
        return createVersion(ctx, { id: call.params[0]!, message: optionalString(body, 'message') });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/versions\/([^/]+)$/,
      handle: (ctx, { params }) => versionDetails(ctx, params[0]!),
    },
    {
      method: 'GET',
      pattern: /^\/api\/versions\/([^/]+)\/files$/,
      handle: (ctx, call) =>
        folderPage(ctx, {
          id: call.params[0]!,
          path: query(call, 'path') ?? '/',
          after: query(call, 'after'),
          before: query(call, 'before'),
          last: query(call, 'last') === '1',
          limit: wholeNumber(call, 'limit'),
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/versions\/([^/]+)\/preview$/,
      handle: async (ctx, call) => {
        const found = versionFile(ctx, { id: call.params[0]!, path: required(call, 'path') });
        const { path, size, mode, mtimeMs, sha256 } = found.file;
        const meta = { ref: found.ref, path, size, mode, mtime: new Date(mtimeMs).toISOString(), sha256 };
        if (size > PREVIEW_MAX_BYTES)
          return { ...meta, preview: { kind: 'none', reason: 'too large to preview: download it' } };
        return { ...meta, preview: previewOf(path, await readVersionFile(ctx, found, call.signal)) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/diff$/,
      handle: (ctx, call) => {
        const diff = diffVersions(ctx, { id: required(call, 'from'), to: required(call, 'to') });
        const cap = <T>(list: T[]): { count: number; items: T[] } => ({
          count: list.length,
          items: list.slice(0, DIFF_LIST_MAX),
        });
        return {
          from: diff.from,
          to: diff.to,
          added: cap(diff.added),
          removed: cap(diff.removed),
          changed: cap(diff.changed),
          renamed: cap(diff.renamed),
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/lineage\/([^/]+)$/,
      handle: (ctx, call) => {
        const depth = wholeNumber(call, 'depth') ?? 10;
        return lineage(ctx, call.params[0]!, { upstream: true, downstream: true, depth });
      },
    },
    { method: 'GET', pattern: /^\/api\/runs$/, handle: (ctx) => listRuns(ctx) },
    { method: 'GET', pattern: /^\/api\/runs\/([^/]+)$/, handle: (ctx, { params }) => runDetails(ctx, params[0]!) },
    {
      method: 'GET',
      pattern: /^\/api\/runs\/([^/]+)\/log$/,
      // A run's log path is this machine's own choice (runs adopted from a bucket record carry none).
      handle: (ctx, { params }) => logTail(runDetails(ctx, params[0]!).logPath),
    },
    {
      method: 'POST',
      pattern: /^\/api\/versions\/([^/]+)\/files$/,
      handle: (ctx, call) =>
        uploadInto(ctx, call.req, {
          id: call.params[0]!,
          target: query(call, 'target') ?? '/',
          maxBytes: options.maxUploadBytes,
          signal: call.signal,
        }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/versions\/([^/]+)\/commit$/,
      handle: async (ctx, call) => {
        await jsonBody(call.req);
        return commitVersion(ctx, call.params[0]!);
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/versions\/([^/]+)\/tags$/,
      handle: async (ctx, call) => {
        const body = await jsonBody(call.req);
        const name = optionalString(body, 'name');
        if (!name) throw new UsageError('a tag needs a name', 'EUSAGE');
        return setTag(ctx, { id: call.params[0]!, name });
      },
    },
  ];
}

/** A provider as the page may see it: where, never how to get in (not even masked secrets). */
function publicProvider(p: ReturnType<typeof listProviders>[number]): Record<string, unknown> {
  const { bucket, prefix, endpoint, region } = p.config;
  return { id: p.id, name: p.name, type: p.type, bucket, prefix, endpoint, region };
}

/** Each dataset with its latest committed version's size: one version counted a dataset, not all. */
function datasetsWithSizes(ctx: AppContext): unknown[] {
  return listDatasets(ctx).map((d) => {
    const latest = latestVersion(ctx, d.id);
    return {
      id: d.id,
      name: d.name,
      description: d.description,
      storageProviderName: d.storageProviderName,
      versionCount: datasetDetails(ctx, d.id).versionCount,
      latest: latest?.id ?? null,
      size: latest?.size ?? 0,
      fileCount: latest?.fileCount ?? 0,
      updatedAt: d.updatedAt,
    };
  });
}

async function logTail(path: string): Promise<{ text: string; truncated: boolean }> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    throw new NotFoundError('this run has no log on this machine', 'ENOLOG');
  }
  try {
    const { size } = await file.stat();
    const start = Math.max(0, size - LOG_TAIL);
    const buffer = Buffer.alloc(size - start);
    await file.read(buffer, 0, buffer.length, start);
    return { text: buffer.toString('utf8'), truncated: start > 0 };
  } finally {
    await file.close();
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > JSON_BODY_MAX) throw new UsageError('the request body is too large', 'ETOOLARGE');
    chunks.push(chunk);
  }
  if (bytes === 0) return {};
  try {
    const doc: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // said below
  }
  throw new UsageError('the request body is not a JSON object', 'EUSAGE');
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`"${name}" is not a string`, 'EUSAGE');
  return value;
}
