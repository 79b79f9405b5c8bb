// A fault-injecting HTTP proxy in front of a real S3 server (Ceph RGW): requests are forwarded as
// they are (the Host header too, so SigV4 signatures hold), and a seeded share of them meet a
// fault on the way. Not a mock: every answer that is not a fault is the server's own.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { rng } from './tree.js';

/**
 * - 500, 503 (SlowDown), 429: answered by the proxy, the request never reaches the server;
 * - reset: the server's answer is cut mid-body and the connection reset;
 * - stall: the server's answer stops mid-body and never goes on;
 * - truncate: the body ends early and the connection closes (Content-Length says more);
 * - flip: one byte of a body is flipped;
 * - length: the Content-Length header says more than the body holds.
 */
export type FaultKind = '500' | '503' | '429' | 'reset' | 'stall' | 'truncate' | 'flip' | 'length';
export const FAULT_KINDS: readonly FaultKind[] = ['500', '503', '429', 'reset', 'stall', 'truncate', 'flip', 'length'];

const ERRORS: Record<'500' | '503' | '429', [status: number, code: string]> = {
  500: [500, 'InternalError'],
  503: [503, 'SlowDown'],
  429: [429, 'TooManyRequests'],
};

export interface ProxyCounts {
  requests: number;
  faults: number;
}

export class FaultProxy {
  private kind: FaultKind | undefined;
  private rate = 0;
  /** the next requests that meet a fault whatever the rate, then none */
  private burst = 0;
  private only: ((req: IncomingMessage) => boolean) | undefined;
  private random: () => number;
  private inFlight = 0;
  private highWater = 0;
  readonly counts: ProxyCounts = { requests: 0, faults: 0 };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly upstream: URL,
    seed: number,
  ) {
    this.random = rng(seed);
  }

  static async start(upstream: string, options: { seed?: number; host?: string } = {}): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, new URL(upstream), options.seed ?? 1);
    server.on('request', (req, res) => proxy.handle(req, res));
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return proxy;
  }

  get endpoint(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  /**
   * From now on, this share (0 to 1) of requests meets this fault; undefined: none. With `only`,
   * just the requests it picks (it is asked once per request).
   */
  set(kind: FaultKind | undefined, rate = 1, only?: (req: IncomingMessage) => boolean): void {
    this.kind = kind;
    this.rate = kind === undefined ? 0 : rate;
    this.burst = 0;
    this.only = only;
  }

  /** The next `count` requests meet this fault, the ones after none. */
  faultNext(kind: FaultKind, count: number): void {
    this.kind = kind;
    this.rate = 0;
    this.burst = count;
    this.only = undefined;
  }

  /**
   * The endpoint goes away for `ms`: connections are refused (the port is closed) and the ones
   * open are cut, as during a server restart; then it listens on the same port again.
   */
  async down(ms: number): Promise<void> {
    const { address, port } = this.server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, ms));
    await new Promise<void>((resolve) => this.server.listen(port, address, resolve));
  }

  /** The most requests in flight at once since the last call. */
  peak(): number {
    const peak = this.highWater;
    this.highWater = this.inFlight;
    return peak;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.counts.requests++;
    this.inFlight++;
    this.highWater = Math.max(this.highWater, this.inFlight);
    let done = false;
    const finished = (): void => {
      if (!done) this.inFlight--;
      done = true;
    };
    res.on('close', finished);
    const picked = this.kind !== undefined && (this.only?.(req) ?? true);
    const bursting = picked && this.burst > 0;
    if (bursting) this.burst--;
    const fault = picked && (bursting || this.random() < this.rate) ? this.kind : undefined;
    if (fault) this.counts.faults++;
    if (fault === '500' || fault === '503' || fault === '429') {
      const [status, code] = ERRORS[fault];
      req.resume();
      req.on('end', () => {
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`;
        res
          .writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) })
          .end(body);
      });
      return;
    }
    const upstream = request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => this.answer(answer, res, req.method === 'HEAD' ? undefined : fault),
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  private answer(answer: IncomingMessage, res: ServerResponse, fault: FaultKind | undefined): void {
    const length = Number(answer.headers['content-length'] ?? 0);
    // Faults on a body need one: an empty answer (a PUT's) is cut before its headers instead.
    if ((fault === 'reset' || fault === 'truncate' || fault === 'stall') && length === 0) {
      answer.resume();
      if (fault === 'stall') return; // never answered: the client's idle timeout ends it
      res.socket?.destroy();
      return;
    }
    const headers = { ...answer.headers };
    if (fault === 'length') headers['content-length'] = String(length + 10);
    res.writeHead(answer.statusCode ?? 502, headers);
    if (fault === undefined || fault === 'length') {
      answer.pipe(res);
      if (fault === 'length') answer.on('end', () => res.socket?.destroy());
      return;
    }
    const cut = Math.floor(length / 2);
    let sent = 0;
    answer.on('data', (chunk: Buffer) => {
      if (fault === 'flip') {
        const at = cut - sent;
        if (at >= 0 && at < chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[at] = chunk[at]! ^ 0xff;
        }
        sent += chunk.length;
        res.write(chunk);
        return;
      }
      const room = cut - sent;
      if (room > 0) res.write(chunk.subarray(0, room));
      sent += chunk.length;
      if (sent >= cut) {
        answer.destroy();
        if (fault === 'reset') res.socket?.resetAndDestroy();
        else if (fault === 'truncate') res.socket?.destroy();
        // stall: nothing more, ever
      }
    });
    answer.on('end', () => {
      if (fault === 'flip') res.end();
    });
  }
}
