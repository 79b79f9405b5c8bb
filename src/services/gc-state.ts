import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from './context.js';
import type { Provider } from '../core/model.js';
import { ConflictError, IntegrityError, PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { formatToken, isAlive, parseToken, thisProcess } from '../core/process-token.js';
import { readWithEtag, type StorageBackend } from '../storage/backend.js';
import { GC_STATE_KEY } from '../storage/keys.js';
import { encodeDoc, parseGcStateDoc, type GcStateDoc } from '../storage/records.js';

/**
 * The protocol between garbage collection and the writers of a bucket (docs/teams.md):
 *
 * - gc announces itself in gc/state.json (a conditional write) before it reads what the bucket
 *   references, bumps the generation, rewrites the document every HEARTBEAT_MS while it runs and
 *   stops deleting when it could not for HOLD_MS; when done it clears `active` and, if it removed
 *   anything, sets `removedIn` to its generation.
 * - A put or a commit passes a gate before it relies on what its catalog believes the bucket
 *   holds: it waits for a running gc, and drops the belief if a gc removed anything since the
 *   belief was formed. Once its draft names every blob it relied on, it asks again: a gc that ran
 *   meanwhile may have read the references before the draft was there, so if one removed anything
 *   the writer checks its blobs in the bucket again. A gc that starts after that sees the draft.
 */
const HEARTBEAT_MS = 10_000;
/** gc stops deleting when its heartbeat has not landed for this long ... */
const HOLD_MS = 30_000;
/** ... and others take an announcement that has not changed for this long for a dead gc's. */
const STALE_MS = 60_000;
const POLL_MS = 1_000;

export interface GcState {
  doc: GcStateDoc;
  etag: string;
}

export async function readGcState(backend: StorageBackend): Promise<GcState | undefined> {
  const found = await readWithEtag(backend, GC_STATE_KEY);
  if (!found) return undefined;
  try {
    return { doc: parseGcStateDoc(GC_STATE_KEY, found.bytes), etag: found.etag };
  } catch (error) {
    if (!(error instanceof IntegrityError)) throw error;
    // Unreadable: anything may have been removed (so beliefs go), and no gc is taken to run.
    const doc: GcStateDoc = { format: 'strata.gc/1', generation: 0, removedIn: Number.MAX_SAFE_INTEGER, active: null };
    return { doc, etag: found.etag };
  }
}

/** An announced gc whose process is known to be gone: one on this host whose pid is dead. */
const deadHere = (by: string): boolean => parseToken(by)?.host === thisProcess().host && !isAlive(by);

/**
 * Waits while a gc runs: until its announcement is cleared, its process is found dead, or the
 * announcement has not changed for STALE_MS (its process died elsewhere).
 */
async function waitWhileCollecting(
  ctx: AppContext,
  backend: StorageBackend,
  signal?: AbortSignal,
): Promise<GcState | undefined> {
  let state = await readGcState(backend);
  let since = performance.now();
  let said = false;
  while (state?.doc.active && !deadHere(state.doc.active.by) && performance.now() - since < STALE_MS) {
    if (!said) {
      const { by, startedAt } = state.doc.active;
      ctx.reporter.info(
        `waiting for a garbage collection of ${backend.location} (${by}, since ${startedAt}) to finish`,
      );
      said = true;
    }
    await sleep(POLL_MS, undefined, { signal });
    const next = await readGcState(backend);
    if (next?.etag !== state.etag) since = performance.now();
    state = next;
  }
  return state;
}

export interface GcGate {
  /** Whether no gc removed anything since the gate was passed (asked once the draft is written). */
  unchanged(signal?: AbortSignal): Promise<boolean>;
}

/** A collection that removed or may have removed blobs since `state`: its generation is newer. */
const removedSince = (now: GcState | undefined, then: GcState | undefined): boolean =>
  !!now && (now.doc.active !== null || now.doc.removedIn > (then?.doc.generation ?? 0));

/**
 * Passed by a put or a commit before it relies on the catalog's belief about the bucket: waits
 * for a running gc, and drops the belief when a gc has removed blobs since it was formed.
 */
export async function passGcGate(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  signal?: AbortSignal,
): Promise<GcGate> {
  const state = await waitWhileCollecting(ctx, backend, signal);
  const { catalog } = ctx;
  const known = catalog.providers.gcGeneration(provider.id);
  const generation = state?.doc.generation ?? 0;
  if ((state?.doc.removedIn ?? 0) > known || state?.doc.active) {
    catalog.transaction(() => {
      catalog.files.forgetProviderBlobs(provider.id);
      catalog.providers.setGcGeneration(provider.id, generation);
    });
  } else if (generation !== known) catalog.providers.setGcGeneration(provider.id, generation);
  return {
    unchanged: async (s) => {
      const now = await readGcState(backend);
      if (now?.etag === state?.etag) return true;
      return !removedSince(await waitWhileCollecting(ctx, backend, s), state);
    },
  };
}

/** A running gc's claim on the bucket: announced, kept fresh, and given up. */
export class GcClaim {
  private lastBeat = performance.now();
  private lost = false;
  private beating: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly backend: StorageBackend,
    private doc: GcStateDoc,
    private etag: string,
  ) {
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  get generation(): number {
    return this.doc.generation;
  }

  /** Announces a gc, or says who is collecting already. */
  static async take(backend: StorageBackend): Promise<GcClaim> {
    for (;;) {
      const state = await readGcState(backend);
      const active = state?.doc.active;
      if (active && !deadHere(active.by) && Date.now() - Date.parse(active.heartbeatAt) < STALE_MS) {
        throw new ConflictError(
          `another garbage collection of ${backend.location} is running (${active.by}, since ${active.startedAt}); try again when it is done`,
          'EGCBUSY',
        );
      }
      const now = new Date().toISOString();
      const generation = (state?.doc.generation ?? 0) + 1;
      const doc: GcStateDoc = {
        format: 'strata.gc/1',
        generation,
        // A gc that died while announced may have removed anything: count it as having done so.
        removedIn: active ? state!.doc.generation : (state?.doc.removedIn ?? 0),
        active: { by: formatToken(thisProcess()), startedAt: now, heartbeatAt: now },
      };
      try {
        const { etag } = await backend.put(GC_STATE_KEY, encodeDoc(doc), {
          ...(state ? { ifMatch: state.etag } : { ifNoneMatch: true }),
          contentType: 'application/json',
        });
        faultPoint('gc:after-claim');
        return new GcClaim(backend, doc, etag);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
  }

  private async beat(): Promise<void> {
    if (this.lost) return;
    const doc: GcStateDoc = { ...this.doc, active: { ...this.doc.active!, heartbeatAt: new Date().toISOString() } };
    try {
      const { etag } = await this.backend.put(GC_STATE_KEY, encodeDoc(doc), {
        ifMatch: this.etag,
        contentType: 'application/json',
      });
      [this.doc, this.etag, this.lastBeat] = [doc, etag, performance.now()];
    } catch (error) {
      // Replaced: another process took this gc for dead. A failed write just ages the claim.
      if (error instanceof PreconditionFailedError) this.lost = true;
    }
  }

  /** Before each deletion: this gc still holds the bucket, as others see it. */
  assertHeld(): void {
    if (this.lost || performance.now() - this.lastBeat > HOLD_MS) {
      throw new ConflictError(
        `garbage collection of ${this.backend.location} lost its announcement in gc/state.json (its heartbeat could not be written); it stopped, run it again`,
        'EGCLOST',
      );
    }
  }

  /** Ends the announcement, saying whether this gc removed anything. */
  async release(removed: boolean): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    if (this.lost) return;
    const doc: GcStateDoc = { ...this.doc, active: null, ...(removed ? { removedIn: this.doc.generation } : {}) };
    await this.backend
      .put(GC_STATE_KEY, encodeDoc(doc), { ifMatch: this.etag, contentType: 'application/json' })
      .catch(() => undefined);
  }
}
