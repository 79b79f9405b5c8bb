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
          <ul>
            {(r.inputs ?? []).map((i) => (
              <li key={i.name}>
                {i.name}:{' '}
                {i.datasetId && i.versionId ? (
                  <a href={href('versions', `${i.datasetId}:${i.versionId}`)}>
                    {i.datasetName ?? i.datasetId}:{i.versionId}
                  </a>
                ) : (
                  '(not a dataset)'
                )}
              </li>
            ))}
          </ul>
          <h2>Outputs</h2>
          <ul>
            {(r.outputs ?? []).map((o) => (
              <li key={o.name}>
                {o.name}:{' '}
                {o.versionId ? (
                  <a href={href('versions', `${o.datasetId}:${o.versionId}`)}>
                    {o.datasetName ?? o.datasetId}:{o.versionId}
                  </a>
                ) : (
                  (o.datasetName ?? o.datasetId)
                )}
              </li>
            ))}
          </ul>
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
