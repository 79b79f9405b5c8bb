import type { Lineage, LineageEdge, LineageNode } from '../services/lineage.js';

/** How a node reads in a tree: a version by its ref and dataset name, a run by its job. */
function label(node: LineageNode): string {
  switch (node.kind) {
    case 'version':
      return `${node.id} (${node.dataset ?? 'dataset not in this catalog'})${node.message ? ` "${node.message}"` : ''}`;
    case 'run':
      return `run ${node.id} · job ${node.job} · ${node.exitCode === null ? 'no exit code' : `exit ${node.exitCode}`} · ${node.startedAt}`;
    case 'url':
      return node.commit ? `${node.url} at ${node.commit}` : node.url;
  }
}

/**
 * The graph as indented trees from the root: upstream (what made it, from what) and downstream
 * (what was made from it), each as far as the graph goes.
 */
export function lineageText(graph: Lineage, show: { upstream: boolean; downstream: boolean }): string {
  const into = group(graph.edges, (e) => e.to);
  const outOf = group(graph.edges, (e) => e.from);
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const node = (id: string): LineageNode => nodes.get(id)!;
  const sections: string[] = [];
  const tree = (children: (id: string) => { id: string; name: string }[]): string => {
    const lines = [label(node(graph.root))];
    const walk = (id: string, prefix: string, path: Set<string>): void => {
      const kids = children(id).filter((k) => !path.has(k.id)); // a hostile provenance may loop
      kids.forEach((kid, i) => {
        const last = i === kids.length - 1;
        lines.push(`${prefix}${last ? '└── ' : '├── '}${kid.name}${label(node(kid.id))}`);
        walk(kid.id, `${prefix}${last ? '    ' : '│   '}`, new Set([...path, kid.id]));
      });
    };
    walk(graph.root, '', new Set([graph.root]));
    return lines.join('\n');
  };
  if (show.upstream) {
    const up = tree((id) => (into.get(id) ?? []).map((e) => ({ id: e.from, name: e.input ? `${e.input}: ` : '' })));
    sections.push(`Upstream (what made it):\n${up}`);
  }
  if (show.downstream) {
    const down = tree((id) => (outOf.get(id) ?? []).map((e) => ({ id: e.to, name: e.input ? `as ${e.input}: ` : '' })));
    sections.push(`Downstream (made from it):\n${down}`);
  }
  return sections.join('\n\n');
}

/** Graphviz: versions as boxes, runs as ellipses, URL sources as notes; edges named by input. */
export function lineageDot(graph: Lineage): string {
  const quote = (text: string): string => `"${text.replace(/["\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
  const lines = ['digraph lineage {', '  rankdir=LR;'];
  for (const n of graph.nodes) {
    const shape = n.kind === 'version' ? 'box' : n.kind === 'run' ? 'ellipse' : 'note';
    const text = n.kind === 'version' ? `${n.dataset ?? n.datasetId}:${n.versionId}` : label(n);
    const bold = n.id === graph.root ? ', style=bold' : '';
    lines.push(`  ${quote(n.id)} [shape=${shape}, label=${quote(text)}${bold}];`);
  }
  for (const e of graph.edges) {
    lines.push(`  ${quote(e.from)} -> ${quote(e.to)}${e.input ? ` [label=${quote(e.input)}]` : ''};`);
  }
  lines.push('}');
  return lines.join('\n');
}

function group(edges: readonly LineageEdge[], by: (e: LineageEdge) => string): Map<string, LineageEdge[]> {
  const map = new Map<string, LineageEdge[]>();
  for (const e of edges) {
    const list = map.get(by(e));
    if (list) list.push(e);
    else map.set(by(e), [e]);
  }
  return map;
}
