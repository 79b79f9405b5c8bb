// Medians, the acceptance figures of issues 4, 5 and 18, and the printed table.

export const WORKLOADS = [
  'W1 put',
  'W1 get',
  'W2 put',
  'W2 get',
  'W3 put',
  'W4 cold',
  'W4 warm default',
  'W4 warm hardlink',
  'W4 first hardlink',
  'W5 put',
  'W5 get',
  'W6 put',
  'W6 get',
  'W6 put 1 %',
  'W6 diff',
  'W6 list (first line)',
  'W6 list',
  'GC gc 1 (repack)',
  'GC gc 2 (remove)',
  'RSS W1 put (10k files)',
  'RSS W5 put (100k files)',
];
/** bench/{copy,link}-floor.cjs: a bare Node program doing W4 warm's file work, shown beside Strata, not judged. */
export const NODE_FLOOR = 'node floor';
const TOOLS = ['strata', 'rclone', 'aws-cli', 'restic', 'cp -r', 'cp -al', NODE_FLOOR];

/**
 * Each limit is on a tool's median in that workload (Strata's unless `tool`), as a ratio to a
 * peer's median (or MB for RSS). Without `max` or `maxMB`: a ratio shown, judged against nothing.
 */
export const ACCEPTANCE = [
  // Issue 18 (packs): W1 and W5 at most restic's time, hence at most 0.3× rclone's on W1; W3 at
  // most a quarter of Strata's own W1 put (the 0.05 of issue 5 assumed a put of a request per file).
  { workload: 'W1 put', vs: ['W1 put', 'rclone'], max: 0.3 },
  { workload: 'W1 put', vs: ['W1 put', 'restic'], max: 1.0 },
  { workload: 'W1 get', vs: ['W1 get', 'rclone'], max: 0.3 },
  { workload: 'W1 get', vs: ['W1 get', 'restic'], max: 1.0 },
  { workload: 'W2 put', vs: ['W2 put', 'aws-cli'], max: 1.1 },
  { workload: 'W2 get', vs: ['W2 get', 'aws-cli'], max: 1.1 },
  { workload: 'W3 put', vs: ['W1 put', 'strata'], max: 0.25 },
  { workload: 'W3 put', tool: 'restic', vs: ['W1 put', 'restic'] },
  { workload: 'W4 cold', vs: ['W4 cold', 'rclone'], max: 1.0 },
  { workload: 'W4 warm default', vs: ['W4 warm default', 'cp -r'], max: 1.5 },
  { workload: 'W4 warm hardlink', vs: ['W4 warm hardlink', 'cp -al'], max: 3.0 },
  // The first hardlink get after copying gets makes a blob file of each packed blob (docs/cache.md).
  { workload: 'W4 first hardlink', vs: ['W4 warm hardlink', 'cp -al'] },
  { workload: 'W5 put', vs: ['W5 put', 'restic'], max: 1.0 },
  { workload: 'W5 get', vs: ['W5 get', 'restic'], max: 1.0 },
  { workload: 'RSS W1 put (10k files)', maxMB: 300 },
  { workload: 'RSS W5 put (100k files)', maxMB: 300 },
];

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * runs: [{workload, tool, rep, seconds, rssMB?, rssKiB?}] → [{workload, tool, n, median, unit, values,
 * max?, peakRssMB?}]: `max` the peak of an RSS workload, `peakRssMB` that of a timed one run under GNU time.
 */
export function summarize(runs) {
  const out = [];
  for (const workload of WORKLOADS) {
    for (const tool of TOOLS) {
      const mine = runs.filter((r) => r.workload === workload && r.tool === tool);
      if (mine.length === 0) continue;
      const rss = workload.startsWith('RSS');
      const values = mine.map((r) => (rss ? r.rssMB : r.seconds));
      const row = { workload, tool, n: values.length, unit: rss ? 'MB' : 's', values, median: median(values) };
      if (rss) row.max = Math.max(...values.filter(Number.isFinite));
      const kib = mine.map((r) => r.rssKiB).filter(Number.isFinite);
      if (!rss && kib.length) row.peakRssMB = (Math.max(...kib) * 1024) / 1e6;
      out.push(row);
    }
  }
  return out;
}

export function judge(medians) {
  const find = (w, t) => medians.find((m) => m.workload === w && m.tool === t);
  const verdicts = [];
  for (const a of ACCEPTANCE) {
    const tool = a.tool ?? 'strata';
    const mine = find(a.workload, tool);
    if (!mine) continue;
    if (a.maxMB !== undefined) {
      const value = Number.isFinite(mine.max) ? mine.max : null;
      const pass = value !== null && value <= a.maxMB;
      verdicts.push({ workload: a.workload, tool, value, limit: `≤ ${a.maxMB} MB (peak of ${mine.n})`, pass });
      continue;
    }
    const peer = find(...a.vs);
    const ratio = mine.median !== null && peer?.median ? mine.median / peer.median : null;
    const peerName = a.vs[0] === a.workload ? a.vs[1] : `${a.vs[1]} ${a.vs[0]}`;
    if (a.max === undefined) {
      if (ratio !== null) verdicts.push({ workload: a.workload, tool, peer: peerName, ratio });
      continue;
    }
    verdicts.push({
      workload: a.workload,
      tool,
      peer: peerName,
      ratio,
      limit: `≤ ${a.max.toFixed(a.max < 0.1 ? 2 : 1)}×`,
      pass: ratio === null ? null : ratio <= a.max,
    });
  }
  return verdicts;
}

/** A verdict as the table shows it: a ratio to a peer, or an RSS peak. */
function cell(v) {
  if (v.value !== undefined) return v.value === null ? '—' : `peak ${v.value.toFixed(0)} MB`;
  return v.ratio === null ? `— (no ${v.peer})` : `${v.ratio.toFixed(2)}× ${v.peer}`;
}

export function table(medians, verdicts) {
  const head = ['workload', 'tool', 'median', 'n', 'peak RSS', 'ratio to peer', 'target', 'result'];
  const rows = medians.map((m) => {
    const mine = verdicts.filter((x) => x.workload === m.workload && x.tool === m.tool);
    const judged = mine.filter((v) => v.limit);
    const med = m.median === null ? '—' : m.unit === 's' ? `${m.median.toFixed(2)} s` : `${m.median.toFixed(0)} MB`;
    const rss = m.peakRssMB === undefined ? '' : `${m.peakRssMB.toFixed(0)} MB`;
    let ratio = '';
    const peerOf = m.tool === NODE_FLOOR && ACCEPTANCE.find((a) => a.workload === m.workload)?.vs;
    const peer = peerOf && medians.find((x) => x.workload === peerOf[0] && x.tool === peerOf[1]);
    if (peer?.median && m.median !== null) ratio = `${(m.median / peer.median).toFixed(2)}× ${peer.tool}`;
    if (mine.length) ratio = mine.map(cell).join(', ');
    const result = judged.map((v) => (v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'FAIL')).join(', ');
    return [m.workload, m.tool, med, String(m.n), rss, ratio, judged.map((v) => v.limit).join(', '), result];
  });
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = [2, 3, 4];
  const fmt = (r) => r.map((c, i) => (right.includes(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ');
  const lines = [fmt(head), width.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (const r of rows) {
    lines.push(fmt(r[0] === last ? ['', ...r.slice(1)] : r).trimEnd());
    last = r[0];
  }
  return lines.join('\n');
}
