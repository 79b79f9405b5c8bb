// The bench's command line: which workloads, how many repetitions, how big.

export const USAGE = `usage: node bench/run.js [--reps N] [--only LIST] [--rss100k] [--quick] [--w6-files N]
  --reps N        repetitions per workload, medians reported (default 3, or 1 with --only W6;
                  W6 runs in the first only)
  --only LIST     workloads to run (default W1,W2,W3,W4,W5,GC):
                  W1 (put, get), W2 (1 GiB put, get), W3 (1 % changed put + diff),
                  W4 (cold and warm materialization), W5 (100,000 files: put, get, vs restic),
                  W6 (1,000,000 files: put, get, list, diff; only when named), GC (gc after deleting
                  half of ten versions), RSS (peak RSS of the put at 10k and 100k files)
  --rss100k       also measure the put's peak RSS at 100,000 files (part of --only RSS and W5)
  --quick         smoke run: 1 repetition and a 256 MiB W2 (unless --reps is given)
  --w6-files N    W6 with N files instead of 1,000,000 (a multiple of 100; a smaller tree, W6-N/)
  env S3_SERVER_MEMSTORE_BYTES: the server's RAM store (default 10 GiB)`;

const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'GC', 'RSS'];
const DEFAULT = 'W1,W2,W3,W4,W5,GC';

export function fail(message) {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

export function parseArgs(argv) {
  const o = { reps: 3, only: null, rss100k: false, quick: false, w6Files: 1_000_000 };
  let repsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? fail(`${a} needs a value`);
    if (a === '--reps') [o.reps, repsGiven] = [Number(value()), true];
    else if (a.startsWith('--reps=')) [o.reps, repsGiven] = [Number(a.slice(7)), true];
    else if (a === '--only') o.only = value();
    else if (a.startsWith('--only=')) o.only = a.slice(7);
    else if (a === '--rss100k') o.rss100k = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--w6-files') o.w6Files = Number(value());
    else if (a.startsWith('--w6-files=')) o.w6Files = Number(a.slice(11));
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  if ((o.quick || o.only?.trim().toUpperCase() === 'W6') && !repsGiven) o.reps = 1;
  if (!Number.isInteger(o.reps) || o.reps < 1) fail('--reps wants a whole number ≥ 1');
  if (!Number.isInteger(o.w6Files) || o.w6Files < 100 || o.w6Files % 100) fail('--w6-files wants a multiple of 100');
  const names = (o.only ?? DEFAULT)
    .toUpperCase()
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) if (!WORKLOADS.includes(n)) fail(`unknown workload ${n}`);
  const has = (n) => names.includes(n);
  o.sel = {
    W1: has('W1'),
    W2: has('W2'),
    W3: has('W3'),
    W4: has('W4'),
    W5: has('W5'),
    W6: has('W6'),
    GC: has('GC'),
    RSS10k: has('RSS') || has('W1'),
    RSS100k: has('RSS') || has('W5') || o.rss100k,
  };
  o.w2Bytes = o.quick ? 256 * 2 ** 20 : 2 ** 30;
  return o;
}
