import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How Strata treats an S3 endpoint that misbehaves, for every request of one backend (the lean
 * data path and the SDK's listings and deletes alike):
 *
 * - a failure that may pass (5xx, throttling, a dropped or refused connection, no byte for
 *   `idleMs`) is retried after a jittered exponential backoff (full jitter, 0.2 s doubling to 5 s);
 * - retrying stops when requests of the backend have failed, and none has succeeded, for
 *   `giveUpMs` (default 88 s, counted from the start of the first that failed): an endpoint down
 *   for 30 s (a server restart) is outlived, and a command facing one that never answers ends
 *   within 90 s, start-up included, whatever the number of requests in flight; a GET succeeds
 *   when its whole body has come, so bodies that stall keep the clock running;
 * - 503 SlowDown and 429 halve how many requests the endpoint is given at once; the number grows
 *   back by one a second once it stops.
 */
export interface EndpointPolicy {
  giveUpMs: number;
  idleMs: number;
}

export const DEFAULT_GIVE_UP_MS = 88_000;
export const DEFAULT_IDLE_MS = 30_000;

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
  /**
   * When the endpoint started failing: the start of the first attempt that failed since the last
   * success (a body that broke off counts from the request's start). undefined while it works.
   */
  private failingSince: number | undefined;
  private lastFailure: unknown;
  private limit = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private lastThrottle = 0;
  private readonly waiting: (() => void)[] = [];
  /** the most requests in flight since the last call to peak(): tests watch throttling with it */
  private highWater = 0;

  constructor(readonly policy: EndpointPolicy) {}

  /**
   * Runs `attempt` (given the time it may take) until it succeeds, `judge` says its failure is
   * final, the signal aborts, or the endpoint is given up on (GaveUp: it has failed, and nothing
   * has succeeded, for giveUpMs). With `bodyFollows`, an attempt that returns is not yet a
   * success: the caller says how its body went (succeeded(), failed()).
   */
  async call<T>(
    attempt: (timeoutMs: number) => Promise<T>,
    judge: (error: unknown) => Verdict,
    signal?: AbortSignal,
    bodyFollows = false,
  ): Promise<T> {
    for (let n = 1; ; n++) {
      this.assertNotGivenUp();
      await this.acquire(signal);
      const started = performance.now();
      let failure: unknown;
      try {
        const result = await attempt(this.attemptTimeout());
        if (!bodyFollows) this.succeeded();
        return result;
      } catch (error) {
        failure = error;
      } finally {
        this.release();
      }
      const verdict = judge(failure);
      if (verdict === 'fail' || signal?.aborted) throw attempted(failure, n);
      this.failed(started, failure);
      if (verdict === 'throttled') this.throttled();
      this.assertNotGivenUp();
      const backoff = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
      await sleep(Math.min(backoff, this.left()), undefined, { signal });
    }
  }

  /** A request (or the body of one) went through: the endpoint works. */
  succeeded(): void {
    this.failingSince = undefined;
  }

  /** A request started at `startedAt` failed in a way that may pass (a body broke off, say). */
  failed(startedAt: number, failure: unknown): void {
    this.failingSince ??= startedAt;
    this.lastFailure = failure;
  }

  private left(): number {
    return this.failingSince === undefined
      ? this.policy.giveUpMs
      : this.policy.giveUpMs - (performance.now() - this.failingSince);
  }

  private assertNotGivenUp(): void {
    if (this.left() <= 0) throw new GaveUp(this.lastFailure, performance.now() - this.failingSince!);
  }

  /** The idle bound, within what is left before the endpoint is given up on. */
  attemptTimeout(): number {
    return Math.floor(Math.max(1_000, Math.min(this.policy.idleMs, this.left())));
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
