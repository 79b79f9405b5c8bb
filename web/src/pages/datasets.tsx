import { get, type DatasetRow } from '../api.js';
import { useLoad } from '../hooks.js';
import { bytes, count, when } from '../format.js';
import { href } from '../route.js';
import { Status } from './common.js';

export function DatasetsPage() {
  const loaded = useLoad(() => get<DatasetRow[]>('/api/datasets'), 'datasets');
  return (
    <section>
      <h1>Datasets</h1>
      <Status loaded={loaded}>
        {(rows) =>
          rows.length === 0 ? (
            <p class="muted">No datasets yet: strata datasets create --name NAME</p>
          ) : (
            <table class="list" data-testid="datasets">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Storage provider</th>
                  <th>Versions</th>
                  <th class="num">Files (latest)</th>
                  <th class="num">Size (latest)</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <a href={href('datasets', d.id)}>{d.name}</a>
                      <div class="muted small">{d.description}</div>
                    </td>
                    <td>{d.storageProviderName}</td>
                    <td>{d.versionCount}</td>
                    <td class="num">{count(d.fileCount)}</td>
                    <td class="num">{bytes(d.size)}</td>
                    <td>{when(d.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Status>
    </section>
  );
}
