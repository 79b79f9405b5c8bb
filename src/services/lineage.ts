import type { AppContext } from './context.js';
import type { Provenance } from '../core/model.js';
import { resolveRef } from './resolve.js';
import { provenanceOf } from './runs.js';

/** A version in the graph (its id is its ref); `dataset` is its name where known. */
export interface LineageVersion {
  kind: 'version';
  id: string;
  datasetId: string;
  versionId: string;
  /** null: a dataset this catalog does not hold, whose name no provenance recorded */
  dataset: string | null;
  message: string | null;
}

export interface LineageRun {
  kind: 'run';
  id: string;
  job: string;
  command: string;
  exitCode: number | null;
  startedAt: string;
  endedAt: string | null;
}

/** An input a run read from outside any dataset: a URL, or a git remote at a commit. */
export interface LineageSource {
  kind: 'url';
  id: string;
  url: string;
  commit: string | null;
}

export type LineageNode = LineageVersion | LineageRun | LineageSource;

/** An input into a run (named as the job names it), or a run's output; by node ids. */
export interface LineageEdge {
  from: string;
  to: string;
  input?: string;
}

export interface Lineage {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface LineageOptions {
  upstream: boolean;
  downstream: boolean;
  /** runs away from the root at most */
  depth: number;
}

/**
 * The graph of versions and the runs between them around one version: upstream, the run that
 * made it and that run's inputs, and so on; downstream, the runs that read it and what they
 * made. From provenance (each version's manifest, kept in the catalog), so a teammate's catalog
 * that synced the bucket sees the same graph.
 */
export function lineage(ctx: AppContext, ref: string, options: LineageOptions): Lineage {
  const { dataset, version } = resolveRef(ctx, ref);
  const graph = new Graph(ctx);
  const root = graph.version(dataset.id, version.id);
  if (options.upstream) graph.upstream(dataset.id, version.id, options.depth);
  if (options.downstream) graph.downstream(dataset.id, version.id, options.depth);
  return { root, nodes: [...graph.nodes.values()], edges: graph.edges };
}

class Graph {
  readonly nodes = new Map<string, LineageNode>();
  readonly edges: LineageEdge[] = [];
  private readonly edgeKeys = new Set<string>();
  private readonly walkedUp = new Set<string>();
  private readonly walkedDown = new Set<string>();

  constructor(private readonly ctx: AppContext) {}

  /** Adds a version node (once) and returns its id, the ref. */
  version(datasetId: string, versionId: string, recordedName: string | null = null): string {
    const ref = `${datasetId}:${versionId}`;
    if (!this.nodes.has(ref)) {
      const { datasets } = this.ctx.catalog;
      this.nodes.set(ref, {
        kind: 'version',
        id: ref,
        datasetId,
        versionId,
        dataset: datasets.get(datasetId)?.name ?? recordedName,
        message: datasets.version(datasetId, versionId)?.message ?? null,
      });
    }
    return ref;
  }

  private run(p: Provenance): string {
    if (!this.nodes.has(p.runId)) {
      const { runId: id, job, command, exitCode, startedAt, endedAt } = p;
      this.nodes.set(id, { kind: 'run', id, job, command, exitCode, startedAt, endedAt });
    }
    return p.runId;
  }

  private edge(from: string, to: string, input?: string): void {
    const key = `${from}\n${to}\n${input ?? ''}`;
    if (this.edgeKeys.has(key)) return;
    this.edgeKeys.add(key);
    this.edges.push({ from, to, ...(input ? { input } : {}) });
  }

  /** Adds the run's inputs and their edges into it; returns the dataset versions among them. */
  private inputsOf(p: Provenance): { datasetId: string; versionId: string }[] {
    const run = this.run(p);
    const versions: { datasetId: string; versionId: string }[] = [];
    for (const input of p.inputs) {
      if (input.datasetId !== null && input.versionId !== null) {
        this.edge(this.version(input.datasetId, input.versionId, input.datasetName), run, input.name);
        versions.push({ datasetId: input.datasetId, versionId: input.versionId });
      } else if (input.url !== null) {
        const id = input.commit ? `${input.url}@${input.commit}` : input.url;
        this.nodes.set(id, { kind: 'url', id, url: input.url, commit: input.commit });
        this.edge(id, run, input.name);
      }
    }
    return versions;
  }

  upstream(datasetId: string, versionId: string, depth: number): void {
    const ref = this.version(datasetId, versionId);
    if (depth <= 0 || this.walkedUp.has(ref)) return;
    this.walkedUp.add(ref);
    const p = provenanceOf(this.ctx, datasetId, versionId);
    if (!p) return;
    this.edge(this.run(p), ref);
    for (const input of this.inputsOf(p)) this.upstream(input.datasetId, input.versionId, depth - 1);
  }

  downstream(datasetId: string, versionId: string, depth: number): void {
    const ref = this.version(datasetId, versionId);
    if (depth <= 0 || this.walkedDown.has(ref)) return;
    this.walkedDown.add(ref);
    for (const made of this.ctx.catalog.datasets.madeFrom(datasetId, versionId)) {
      this.inputsOf(made.provenance);
      this.edge(made.provenance.runId, this.version(made.datasetId, made.id));
      this.downstream(made.datasetId, made.id, depth - 1);
    }
  }
}
