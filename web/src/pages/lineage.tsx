import { Graph, layout } from '@dagrejs/dagre';
import { enc, get, type Lineage, type LineageNode } from '../api.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Status } from './common.js';

const NODE_W = 220;
const NODE_H = 46;

/** The lineage graph of a version: versions and the runs between them, laid out left to right by dagre. */
export function LineagePage({ refId }: { refId: string }) {
  const loaded = useLoad(() => get<Lineage>(`/api/lineage/${enc(refId)}`), refId);
  return (
    <section>
      <h1>Lineage</h1>
      <Status loaded={loaded}>
        {(l) =>
          l.edges.length === 0 ? (
            <p class="muted" data-testid="lineage-empty">
              No job made this version and none read it: it has no lineage yet.{' '}
              <a href={href('versions', l.root)}>Back to the version</a>
            </p>
          ) : (
            <LineageGraph lineage={l} />
          )
        }
      </Status>
    </section>
  );
}

function LineageGraph({ lineage }: { lineage: Lineage }) {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of lineage.nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of lineage.edges) g.setEdge(e.from, e.to);
  layout(g);
  const { width = 0, height = 0 } = g.graph();
  return (
    <svg class="lineage" data-testid="lineage" width={width} height={height} viewBox={`0 0 ${width} ${height}`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" />
        </marker>
      </defs>
      {g.edges().map((e) => {
        const points = g.edge(e).points ?? [];
        return (
          <polyline
            key={`${e.v}>${e.w}`}
            class="edge"
            marker-end="url(#arrow)"
            points={points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')}
          />
        );
      })}
      {lineage.nodes.map((n) => {
        const { x = 0, y = 0 } = g.node(n.id);
        return <Node key={n.id} node={n} x={x - NODE_W / 2} y={y - NODE_H / 2} root={n.id === lineage.root} />;
      })}
    </svg>
  );
}

function Node({ node, x, y, root }: { node: LineageNode; x: number; y: number; root: boolean }) {
  const [title, sub, link] =
    node.kind === 'version'
      ? [node.dataset ?? node.datasetId, node.versionId, href('versions', node.id)]
      : node.kind === 'run'
        ? [
            `run ${node.job}`,
            node.exitCode === null ? node.id : `${node.id} · exit ${node.exitCode}`,
            href('runs', node.id),
          ]
        : [node.url, node.commit ?? '', undefined];
  const box = (
    <g class={`node ${node.kind}${root ? ' root' : ''}`} data-node={node.id} transform={`translate(${x},${y})`}>
      <rect width={NODE_W} height={NODE_H} rx={node.kind === 'run' ? 20 : 4} />
      <text x={10} y={19} class="title">
        {clip(title)}
      </text>
      <text x={10} y={36} class="sub">
        {clip(sub)}
      </text>
    </g>
  );
  return link ? <a href={link}>{box}</a> : box;
}

const clip = (s: string): string => (s.length > 30 ? `${s.slice(0, 29)}…` : s);
