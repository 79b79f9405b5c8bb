import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

/**
 * What every request of `strata ui` passes before it reaches a handler (docs/ui.md, Security):
 * a Host this server answers to (no DNS rebinding), the session token (in the URL printed at
 * start, then an HttpOnly SameSite=Strict cookie, or an Authorization: Bearer header for scripts),
 * and, on anything that changes state, the X-Strata-Request header the page sends: a cross-site
 * form or fetch cannot set it without a CORS preflight, which this server never grants.
 */
export const TOKEN_COOKIE = 'strata_ui';
export const STATE_HEADER = 'x-strata-request';

export class Guard {
  readonly token = randomBytes(24).toString('base64url');
  private hosts = new Set<string>();

  /**
   * The Host headers to answer, with the port: loopback names and the address listened on; on a
   * wildcard address (0.0.0.0, ::) also this machine's name and the addresses of its interfaces,
   * which are what another machine puts in Host. Never any other name (DNS rebinding).
   */
  listening(host: string, port: number): void {
    const names = ['127.0.0.1', 'localhost', '::1', host];
    if (host === '0.0.0.0' || host === '::') {
      names.push(hostname());
      for (const addresses of Object.values(networkInterfaces()))
        for (const a of addresses ?? []) names.push(a.address);
    }
    this.hosts = new Set(names.map((n) => `${n.includes(':') ? `[${n}]` : n}:${port}`.toLowerCase()));
  }

  /** Why a request is refused (status and one line), or undefined to let it through. */
  refusal(req: IncomingMessage, url: URL): { status: number; code: string; message: string } | undefined {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host))
      return { status: 421, code: 'EHOST', message: `this server does not answer to Host "${host.slice(0, 100)}"` };
    if (!this.tokenOf(req, url))
      return {
        status: 401,
        code: 'ETOKEN',
        message: 'open the URL strata ui printed (it carries the session token)',
      };
    if (!SAFE_METHODS.has(req.method ?? '') && req.headers[STATE_HEADER] !== '1')
      return { status: 403, code: 'ECSRF', message: `a change needs the ${STATE_HEADER} header the page sends` };
    return undefined;
  }

  /** The first visit, with ?token= in the URL: the token moves into a cookie, out of the URL. */
  landing(url: URL): boolean {
    const given = url.searchParams.get('token');
    return given !== null && this.matches(given);
  }

  cookie(): string {
    return `${TOKEN_COOKIE}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }

  private tokenOf(req: IncomingMessage, url: URL): boolean {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) return this.matches(bearer);
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== undefined) return this.matches(cookie);
    const given = url.searchParams.get('token');
    return given !== null && this.matches(given);
  }

  private matches(given: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Headers of every response. The app's own pages: scripts and styles from this origin only, no
 * inline script, no framing, no referrer (the first URL carries the token).
 */
export function secureHeaders(res: ServerResponse): void {
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
}

/** A dataset's file, served: it can never run as a page of this origin (a sandbox with no script). */
export function fileHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox");
}
