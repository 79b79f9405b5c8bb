// A flaky network (issue 16): a fault proxy between Strata and RGW answers 500, 503 SlowDown and
// 429, resets, stalls, truncates, flips a byte of, or mislabels a share of the answers. At a few
// percent, put, commit, get and verify --deep must succeed with the right bytes; at 100 % they
// must fail with the storage class (integrity where only a body was wrong, twice) within the
// bound. radosgw restarted in the middle of a put and of a get: both must finish.
import { setTimeout as sleep } from 'node:timers/promises';
import { FAULT_KINDS, FaultProxy, type FaultKind } from '../helpers/fault-proxy.js';
import { commitArgs, committedVersion, getArgs, openVersion, putArgs, type Scenario, type Trees } from './scenario.js';
import { ok, type Trial } from './trial.js';

/** A stalled answer is abandoned after this long in these trials (the default, 30 s, is timed below). */
const FAST_IDLE = { STRATA_S3_IDLE_TIMEOUT_MS: '2000' };
/** The bound the 100 % trials give up at, and how much later than it a command may end. */
const SHORT_BOUND_S = 5;
const SLACK_S = 15;
/** The documented bound: a command facing an endpoint that never answers ends within this. */
const BOUND_S = 90;

/** A get into a fresh target through a fresh cache: every blob is fetched. */
const freshGetArgs = (t: Trial, ref: string): string[] => {
  const target = t.dir('target');
  t.targets.push(target);
  return getArgs(ref, target, '--cache-dir', t.dir('cache'));
};
const verifyArgs = (ref: string): string[] => ['datasets', 'versions', 'verify', '--id', ref, '--deep'];

/** Puts, commits, gets and verifies through a proxy that faults this share of the answers. */
function flaky(trees: Trees, kind: FaultKind, rate: number): Scenario {
  let proxy: FaultProxy;
  return {
    name: `network ${kind} at ${rate * 100} %`,
    trials: { short: 1, full: 10 },
    around: async (s3, _scratch, random) => {
      proxy = await FaultProxy.start(s3.endpoint, { seed: Math.floor(random() * 2 ** 31) });
      return { place: { endpoint: proxy.endpoint, env: FAST_IDLE }, teardown: () => proxy.close() };
    },
    run: async (t) => {
      const ref = await openVersion(t);
      proxy.set(kind, rate);
      try {
        ok(await t.run(putArgs(ref, trees.mixed)), `put through ${kind}`);
        ok(await t.run(commitArgs(ref)), `commit through ${kind}`);
        ok(await t.run(freshGetArgs(t, ref)), `get through ${kind}`);
        ok(await t.run(verifyArgs(ref)), `verify --deep through ${kind}`);
      } finally {
        // the checker reads the bucket as it is, never through the faults
        proxy.set(undefined);
      }
      t.expected.set(ref, trees.mixed);
      return 'succeeded';
    },
  };
}

/**
 * Every answer faulted: each command ends within the bound (`--timeout`), with the storage class,
 * or with the integrity class where the only fault is in the bytes (flip), or succeeds where the
 * fault cannot touch it (a flipped byte of a body a put never reads).
 */
function dead(
  trees: Trees,
  kind: FaultKind,
  bound: { flag?: string; seconds: number; idle?: NodeJS.ProcessEnv },
): Scenario {
  let proxy: FaultProxy;
  return {
    name: `network ${kind} at 100 %${bound.flag ? '' : ', default bound'}`,
    trials: bound.flag ? { short: kind === 'stall' ? 1 : 0, full: 1 } : { short: 0, full: 1 },
    around: async (s3, _scratch, random) => {
      proxy = await FaultProxy.start(s3.endpoint, { seed: Math.floor(random() * 2 ** 31) });
      return { place: { endpoint: proxy.endpoint, env: bound.idle }, teardown: () => proxy.close() };
    },
    run: async (t) => {
      const committed = await committedVersion(t, trees.small);
      const open = await openVersion(t);
      ok(await t.run(putArgs(open, trees.extra)), 'put');
      const fresh = await openVersion(t);
      proxy.set(kind, 1);
      const limit = bound.flag ? ['--timeout', bound.flag] : [];
      // A flipped byte is in bodies a put never reads; a wrong Content-Length over a whole body
      // still brings every byte, which its sha256 vouches for.
      const reads = kind === 'flip' ? [5, 6] : kind === 'length' ? [0, 6] : [6];
      const cases: [string, string[], number[]][] = [
        ['put', putArgs(fresh, trees.mixed), kind === 'flip' ? [0, 6] : [6]],
        ['commit', commitArgs(open), kind === 'flip' ? [0, 6] : [6]],
        ['get', freshGetArgs(t, committed), reads],
        ['verify --deep', verifyArgs(committed), reads],
      ];
      const times: string[] = [];
      // The four at once: each faces the dead endpoint alone, as four users would.
      await Promise.all(
        cases.map(async ([what, args, allowed]) => {
          const started = performance.now();
          const r = await t.run([...args, ...limit]);
          const seconds = (performance.now() - started) / 1000;
          times.push(`${what} exit ${r.code} in ${seconds.toFixed(1)} s`);
          if (!allowed.includes(r.code ?? -1))
            t.flag('divergent', `${what} at 100 % ${kind}: exit ${r.code} (${r.stderr.trim()})`);
          if (r.code !== 0 && !/^Error: \S/.test(r.stderr))
            t.flag('divergent', `${what} at 100 % ${kind}: not one line`);
          if (seconds > (bound.flag ? bound.seconds + SLACK_S : bound.seconds)) {
            t.flag('divergent', `${what} at 100 % ${kind} took ${seconds.toFixed(1)} s`);
          }
        }),
      );
      proxy.set(undefined);
      t.found.notes.push(`${kind} at 100 %: ${times.join(', ')}`);
      // Once the network is back, the same commands finish the work (and the put the uploads
      // its failed attempts left open).
      ok(await t.run(putArgs(fresh, trees.mixed)), 'put once the network is back');
      ok(await t.run(commitArgs(fresh)), 'commit once the network is back');
      t.expected.set(fresh, trees.mixed);
      ok(await t.run(commitArgs(open)), 'commit once the network is back');
      t.expected.set(open, trees.extra);
      return 'failedCleanly';
    },
  };
}

/** radosgw restarted (killed, started again) while a put or a get of this trial runs. */
function restarted(trees: Trees, restart: () => Promise<void>, what: 'put' | 'get'): Scenario {
  return {
    name: `radosgw restarted during a ${what}`,
    trials: { short: 1, full: 3 },
    alone: true,
    run: async (t, random) => {
      const ref = what === 'put' ? await openVersion(t) : await committedVersion(t, trees.large);
      const running = t.run(what === 'put' ? putArgs(ref, trees.large) : freshGetArgs(t, ref));
      await sleep(200 + Math.floor(random() * 500));
      await restart();
      ok(await running, `${what} across the restart`);
      if (what === 'put') {
        ok(await t.run(commitArgs(ref)), 'commit');
        t.expected.set(ref, trees.large);
      }
      return 'succeeded';
    },
  };
}

export function networkScenarios(trees: Trees, restart?: () => Promise<void>): Scenario[] {
  return [
    ...FAULT_KINDS.map((kind) => flaky(trees, kind, 0.03)),
    ...FAULT_KINDS.map((kind) =>
      dead(trees, kind, { flag: `${SHORT_BOUND_S}s`, seconds: SHORT_BOUND_S, idle: FAST_IDLE }),
    ),
    dead(trees, 'stall', { seconds: BOUND_S }),
    ...(restart ? [restarted(trees, restart, 'put'), restarted(trees, restart, 'get')] : []),
  ];
}
