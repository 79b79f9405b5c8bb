import { enc, get, type Run } from '../api.js';
import { useLoad } from '../hooks.js';
import { when } from '../format.js';
import { href } from '../route.js';
import { Status } from './common.js';

export function RunsPage() {
  const loaded = useLoad(() => get<Run[]>('/api/runs'), 'runs');
  return (
    <section>
      <h1>Job runs</h1>
      <Status loaded={loaded}>
        {(runs) => (
          <table class="list" data-testid="runs">
            <thead>
              <tr>
                <th>Run</th>
                <th>Job</th>
                <th>Status</th>
                <th>Executor</th>
                <th>Started</th>
                <th>Ended</th>
              </tr>
            </thead>
            <tbody>
              {[...runs].reverse().map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={href('runs', r.id)}>{r.id}</a>
                  </td>
                  <td>{r.job}</td>
                  <td>
                    {r.status}
                    {r.exitCode !== null && ` (${r.exitCode})`}
                  </td>
                  <td>{r.executor}</td>
                  <td>{when(r.startedAt)}</td>
                  <td>{when(r.endedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Status>
    </section>
  );
}

export function RunPage({ id }: { id: string }) {
  const run = useLoad(() => get<Run>(`/api/runs/${enc(id)}`), id);
  const log = useLoad(() => get<{ text: string; truncated: boolean }>(`/api/runs/${enc(id)}/log`), `log|${id}`);
  return (
    <Status loaded={run}>
      {(r) => (
        <section>
          <h1>
            Run {r.id}: {r.job}
          </h1>
          <p>
            <code>{r.command}</code>
          </p>
          <p class="muted">
            {r.status}
            {r.exitCode !== null && ` (exit ${r.exitCode})`} · {r.executor} · {when(r.startedAt)} → {when(r.endedAt)}
          </p>
          <h2>Inputs</h2>
          <Bindings items={r.inputs ?? []} unlinked={() => '(not a dataset)'} />
          <h2>Outputs</h2>
          <Bindings items={r.outputs ?? []} unlinked={(o) => o.datasetName ?? o.datasetId ?? ''} />
          <h2>Log</h2>
          <Status loaded={log}>
            {(l) => (
              <pre class="text log" data-testid="run-log">
                {l.truncated && '…\n'}
                {l.text}
              </pre>
            )}
          </Status>
        </section>
      )}
    </Status>
  );
}

interface Binding {
  name: string;
  datasetId: string | null;
  versionId: string | null;
  datasetName: string | null;
}

/** A run's inputs or outputs: each name and the version it read or made, linked. */
function Bindings<T extends Binding>({ items, unlinked }: { items: T[]; unlinked: (item: T) => string }) {
  return (
    <ul>
      {items.map((b) => (
        <li key={b.name}>
          {b.name}:{' '}
          {b.datasetId && b.versionId ? (
            <a href={href('versions', `${b.datasetId}:${b.versionId}`)}>
              {b.datasetName ?? b.datasetId}:{b.versionId}
            </a>
          ) : (
            unlinked(b)
          )}
        </li>
      ))}
    </ul>
  );
}
