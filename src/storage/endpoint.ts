import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How Strata treats an S3 endpoint that misbehaves, for every request of one backend (the lean
 * data path and the SDK's listings and deletes alike):
 *
 * - a failure that may pass (5xx, throttling, a dropped or refused connection, no byte for
 *   `idleMs`) is retried after a jittered exponential backoff (full jitter, 0.2 s doubling to 5 s);
 * - retrying stops when no request of the backend has succeeded for `giveUpMs` (default 90 s):
 *   an endpoint down for 30 s (a server restart) is outlived, one that never answers is given up
 *   on within the bound, whatever the number of requests in flight;
 * - 503 SlowDown and 429 halve how many requests the endpoint is given at once; the number grows
 *   back by one a second once it stops.
 */
export interface EndpointPolicy {
  giveUpMs: number;
  idleMs: number;
}

export const DEFAULT_GIVE_UP_MS = 90_000;
export const DEFAULT_IDLE_MS = 30_000;

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** Whether a network-level failure may pass (also a garbled answer: HTTP parser errors). */
export const retryableNetworkError = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return RETRYABLE_CODES.has(code) || code.startsWith('HPE_') || code === 'ERR_STREAM_PREMATURE_CLOSE';
};

/** What to do after a failed attempt. */
export type Verdict = 'retry' | 'throttled' | 'fail';

/** Retrying stopped: no success for the policy's bound. The last failure is the cause. */
export class GaveUp extends Error {
  constructor(
    readonly last: unknown,
    readonly waitedMs: number,
  ) {
    super(`no successful answer for ${Math.round(waitedMs / 1000)} s`, { cause: last });
  }
}

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** Throttling lowers the limit; this long without it, the limit grows by one. */
const RECOVER_MS = 1_000;

/** How many attempts a request that failed made (1: it was never retried). */
export const attemptsOf = (error: unknown): number => (error as { attempts?: number } | undefined)?.attempts ?? 1;

const attempted = (error: unknown, n: number): unknown => {
  if (typeof error === 'object' && error !== null) Object.assign(error, { attempts: n });
  return error;
};

export class Endpoint {
  private lastSuccess = performance.now();
  private limit = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private lastThrottle = 0;
  private readonly waiting: (() => void)[] = [];
  /** the most requests in flight since the last call to peak(): tests watch throttling with it */
  private highWater = 0;

  constructor(readonly policy: EndpointPolicy) {}

  /**
   * Runs `attempt` (given the time it may take) until it succeeds, `judge` says its failure is
   * final, the signal aborts, or the endpoint is given up on (GaveUp).
   */
  async call<T>(
    attempt: (timeoutMs: number) => Promise<T>,
    judge: (error: unknown) => Verdict,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let n = 1; ; n++) {
      await this.acquire(signal);
      let failure: unknown;
      try {
        const result = await attempt(this.attemptTimeout());
        this.lastSuccess = performance.now();
        return result;
      } catch (error) {
        failure = error;
      } finally {
        this.release();
      }
      const verdict = judge(failure);
      if (verdict === 'fail' || signal?.aborted) throw attempted(failure, n);
      if (verdict === 'throttled') this.throttled();
      const waited = performance.now() - this.lastSuccess;
      if (waited >= this.policy.giveUpMs) throw new GaveUp(failure, waited);
      const backoff = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
      await sleep(Math.min(backoff, this.policy.giveUpMs - waited), undefined, { signal });
    }
  }

  /** The idle bound, within what is left before the endpoint is given up on. */
  attemptTimeout(): number {
    const left = this.policy.giveUpMs - (performance.now() - this.lastSuccess);
    return Math.floor(Math.max(1_000, Math.min(this.policy.idleMs, left)));
  }

  /** The most requests in flight since the last call. */
  peak(): number {
    const peak = this.highWater;
    this.highWater = this.inFlight;
    return peak;
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    this.recover();
    while (this.inFlight >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      signal?.throwIfAborted();
      this.recover();
    }
    this.inFlight++;
    this.highWater = Math.max(this.highWater, this.inFlight);
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  private throttled(): void {
    this.limit = Math.max(1, Math.floor(Math.min(this.limit, this.inFlight + 1) / 2));
    this.lastThrottle = performance.now();
  }

  private recover(): void {
    if (this.limit === Number.POSITIVE_INFINITY) return;
    const quiet = performance.now() - this.lastThrottle;
    if (quiet < RECOVER_MS) return;
    const steps = Math.floor(quiet / RECOVER_MS);
    this.lastThrottle += steps * RECOVER_MS;
    this.limit += steps;
    if (this.limit > 1024) this.limit = Number.POSITIVE_INFINITY;
    // Room for more: let waiters in.
    for (let free = this.limit - this.inFlight; free > 0 && this.waiting.length > 0; free--) this.waiting.shift()!();
  }
}
