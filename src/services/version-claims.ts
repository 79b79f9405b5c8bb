import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from './context.js';
import type { Version } from '../core/model.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { formatToken, isAlive, thisProcess } from '../core/process-token.js';
import type { Writer } from '../catalog/claims.js';
import { manifestKey } from '../storage/keys.js';
import { committedError, findProvider, type Resolved } from './resolve.js';

/**
 * Puts and commits exclude each other on a version, through the catalog: a put registers as a
 * writer of the version in a transaction that finds it open and not being committed; a commit
 * claims the version in a transaction that finds no live writer. A claim left by a process that
 * was killed is recognized (core/process-token.ts) and settled: a dead writer leaves the version
 * marked incomplete, a dead commit is finished by the next one.
 */

/** A commit waits this long for another commit of the same version before giving up. */
const COMMIT_WAIT_MS = 10 * 60_000;

let claims = 0;

export interface WriteClaim {
  /** Ends the claim: a finished write clears the version's incomplete mark, a failed one sets it. */
  release(finished: boolean): void;
}

const ref = (v: Pick<Version, 'datasetId' | 'id'>): string => `${v.datasetId}:${v.id}`;
const describe = (w: Writer): string => `a ${w.what} started at ${w.startedAt}`;

/** Registers this process as a writer of an uncommitted version, or says why it cannot be one. */
export async function claimWrite(ctx: AppContext, resolved: Resolved, what: string): Promise<WriteClaim> {
  const { dataset, version } = resolved;
  const writer: Writer = {
    writer: `${formatToken(thisProcess())}#${++claims}`,
    what,
    startedAt: new Date().toISOString(),
  };
  for (;;) {
    const found = ctx.catalog.transaction(() => {
      const v = ctx.catalog.datasets.version(dataset.id, version.id);
      if (!v || v.committedAt || v.committing) return { v };
      ctx.catalog.claims.addWriter(dataset.id, version.id, writer);
      return { claimed: true };
    });
    if ('claimed' in found) return writeClaim(ctx, resolved, writer);
    assertWritable(resolved, found.v);
    await settleDeadCommit(ctx, resolved, found.v!.committing!); // a commit that was killed
  }
}

/** Throws the error that says why files of this version cannot change now, if they cannot. */
export function assertWritable(resolved: Resolved, v: Version | undefined): void {
  if (!v) throw new NotFoundError(`version ${ref(resolved.version)} was deleted`, 'ENOVERSION');
  if (v.committedAt) throw committedError(resolved);
  if (v.committing && isAlive(v.committing)) {
    throw new ConflictError(
      `version ${ref(v)} is being committed by another process, so its files cannot change; to change them afterwards: strata datasets versions create --id ${v.datasetId} --from ${ref(v)}`,
      'ECOMMITTING',
    );
  }
}

/**
 * A commit killed before its manifest reached the bucket left nothing behind: the version is open
 * again. One killed after it must be finished (by committing again), never changed.
 */
async function settleDeadCommit(ctx: AppContext, { dataset, version }: Resolved, token: string): Promise<void> {
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  if (await backend.head(manifestKey(dataset.id, version.id))) {
    throw new ConflictError(
      `a commit of ${ref(version)} was interrupted after its manifest was written; finish it with: strata datasets versions commit --id ${ref(version)}`,
      'ECOMMITTING',
    );
  }
  ctx.catalog.transaction(() => {
    if (ctx.catalog.datasets.version(dataset.id, version.id)?.committing === token) {
      ctx.catalog.claims.setCommitting(dataset.id, version.id, null);
    }
  });
}

function writeClaim(ctx: AppContext, { dataset, version }: Resolved, writer: Writer): WriteClaim {
  return {
    release(finished: boolean): void {
      ctx.catalog.transaction(() => {
        const { claims: c } = ctx.catalog;
        c.removeWriter(dataset.id, version.id, writer.writer);
        if (!finished) return c.setIncomplete(dataset.id, version.id, `${describe(writer)} did not finish`);
        // The last put finished: writers that died before it are history, and the version is whole
        // unless one still runs.
        for (const w of c.writers(dataset.id, version.id))
          if (!isAlive(w.writer)) c.removeWriter(dataset.id, version.id, w.writer);
        c.setIncomplete(dataset.id, version.id, null);
      });
    },
  };
}

type CommitDecision =
  | { kind: 'gone' | 'wait' }
  | { kind: 'committed' | 'claimed'; version: Version }
  | { kind: 'busy'; writer: Writer }
  | { kind: 'incomplete'; why: string };

export interface CommitClaim {
  version: Version;
  release(): void;
}

/**
 * Claims a version for committing: none of its writers may be alive, a version whose last put did
 * not finish is refused unless allowed, and another commit of it in progress is waited for (it
 * then says the version is committed). Returns the committed version when there is nothing to do.
 */
export async function claimCommit(
  ctx: AppContext,
  resolved: Resolved,
  allowIncomplete: boolean,
): Promise<CommitClaim | { committed: Version }> {
  const { dataset, version } = resolved;
  const token = formatToken(thisProcess());
  const deadline = Date.now() + COMMIT_WAIT_MS;
  for (;;) {
    const d = ctx.catalog.transaction((): CommitDecision => {
      const { claims: c, datasets } = ctx.catalog;
      const v = datasets.version(dataset.id, version.id);
      if (!v) return { kind: 'gone' };
      if (v.committedAt) return { kind: 'committed', version: v };
      if (v.committing && v.committing !== token && isAlive(v.committing)) return { kind: 'wait' };
      const writers = c.writers(dataset.id, version.id);
      const live = writers.find((w) => isAlive(w.writer));
      if (live) return { kind: 'busy', writer: live };
      let incomplete = v.incomplete;
      for (const w of writers) {
        c.removeWriter(dataset.id, version.id, w.writer);
        incomplete ??= `${describe(w)} did not finish`;
      }
      if (incomplete !== v.incomplete) c.setIncomplete(dataset.id, version.id, incomplete);
      if (incomplete && !allowIncomplete) return { kind: 'incomplete', why: incomplete };
      c.setCommitting(dataset.id, version.id, token);
      return { kind: 'claimed', version: { ...v, incomplete, committing: token } };
    });
    switch (d.kind) {
      case 'gone':
        throw new NotFoundError(`version ${ref(version)} was deleted`, 'ENOVERSION');
      case 'committed':
        return { committed: d.version };
      case 'busy':
        throw new ConflictError(
          `${describe(d.writer)} is writing into ${ref(version)}; commit once it has finished`,
          'EVERSIONBUSY',
        );
      case 'incomplete':
        throw new ConflictError(
          `${ref(version)} may lack files: ${d.why}; run that put again to finish it, or commit what was stored with --allow-incomplete`,
          'EINCOMPLETE',
        );
      case 'claimed':
        return { version: d.version, release: () => releaseCommit(ctx, resolved, token) };
    }
    if (Date.now() > deadline) {
      throw new ConflictError(
        `${ref(version)} has been being committed by another process for ${COMMIT_WAIT_MS / 60_000} minutes; try again later`,
        'ECOMMITTING',
      );
    }
    await sleep(200);
  }
}

function releaseCommit(ctx: AppContext, { dataset, version }: Resolved, token: string): void {
  ctx.catalog.transaction(() => {
    if (ctx.catalog.datasets.version(dataset.id, version.id)?.committing === token) {
      ctx.catalog.claims.setCommitting(dataset.id, version.id, null);
    }
  });
}

/** For changes made in one transaction (files delete, a new message): the version must be open and idle. */
export function assertIdle(ctx: AppContext, resolved: Resolved): void {
  const v = ctx.catalog.datasets.version(resolved.dataset.id, resolved.version.id);
  assertWritable(resolved, v);
  const live = ctx.catalog.claims.writers(resolved.dataset.id, resolved.version.id).find((w) => isAlive(w.writer));
  if (live) {
    throw new ConflictError(
      `${describe(live)} is writing into ${ref(resolved.version)}; try again once it has finished`,
      'EVERSIONBUSY',
    );
  }
}
