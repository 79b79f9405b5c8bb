import { get, type Capped, type Diff } from '../api.js';
import { useLoad } from '../hooks.js';
import { count } from '../format.js';
import { href } from '../route.js';
import { Status } from './common.js';

export function DiffPage({ from, to }: { from: string; to: string }) {
  const loaded = useLoad(() => get<Diff>('/api/diff', { from, to }), `${from}|${to}`);
  return (
    <section>
      <h1>Diff</h1>
      <Status loaded={loaded}>
        {(d) => (
          <>
            <p>
              <a href={href('versions', d.from)}>{d.from}</a> → <a href={href('versions', d.to)}>{d.to}</a>
            </p>
            <div class="diff" data-testid="diff">
              <Paths title="Added" kind="added" list={d.added} />
              <Paths title="Removed" kind="removed" list={d.removed} />
              <Paths title="Changed" kind="changed" list={d.changed} />
              <Paths
                title="Renamed"
                kind="renamed"
                list={{ count: d.renamed.count, items: d.renamed.items.map((r) => `${r.from} → ${r.to}`) }}
              />
            </div>
          </>
        )}
      </Status>
    </section>
  );
}

function Paths({ title, kind, list }: { title: string; kind: string; list: Capped<string> }) {
  return (
    <div class={`paths ${kind}`} data-testid={`diff-${kind}`}>
      <h2>
        {title} <span class="count">{count(list.count)}</span>
      </h2>
      <ul>
        {list.items.map((p) => (
          <li key={p}>{p}</li>
        ))}
      </ul>
      {list.count > list.items.length && <p class="muted">and {count(list.count - list.items.length)} more</p>}
    </div>
  );
}
