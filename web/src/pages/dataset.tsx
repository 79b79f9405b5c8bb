import { useState } from 'preact/hooks';
import { enc, get, post, type DatasetDetails, type VersionView } from '../api.js';
import { useLoad } from '../hooks.js';
import { bytes, count, when } from '../format.js';
import { href } from '../route.js';
import { ErrorLine, Status } from './common.js';

/** A dataset's versions as a timeline, newest first, with tags, messages and a diff picker. */
export function DatasetPage({ id }: { id: string }) {
  const loaded = useLoad(() => get<DatasetDetails>(`/api/datasets/${enc(id)}`), id);
  const [picked, setPicked] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const [message, setMessage] = useState('');
  const pick = (ref: string): void =>
    setPicked((p) => (p.includes(ref) ? p.filter((r) => r !== ref) : [...p, ref].slice(-2)));
  const create = async (): Promise<void> => {
    setError(undefined);
    try {
      const v = await post<VersionView>(`/api/datasets/${enc(id)}/versions`, { message });
      location.hash = href('versions', v.ref);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <Status loaded={loaded}>
      {({ dataset, versions }) => {
        const byTime = [...versions].reverse();
        const [a, b] = [...picked].sort(
          (x, y) => versions.findIndex((v) => v.ref === x) - versions.findIndex((v) => v.ref === y),
        );
        return (
          <section>
            <h1>{dataset.name}</h1>
            <p class="muted">
              {dataset.description} · storage provider {dataset.storageProviderName} · {versions.length} version(s)
            </p>
            <div class="toolbar">
              <input
                aria-label="message of the new version"
                placeholder="message of a new version"
                value={message}
                onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
              />
              <button onClick={() => void create()}>New version</button>
              {a && b ? (
                <a class="button" href={href('diff', { from: a, to: b })}>
                  Diff the two picked
                </a>
              ) : (
                <span class="muted small">pick two versions to diff them</span>
              )}
            </div>
            <ErrorLine message={error} />
            <ol class="timeline" data-testid="versions">
              {byTime.map((v) => (
                <li key={v.id} class={v.isCommitted ? 'committed' : 'open'}>
                  <label class="pick">
                    <input
                      type="checkbox"
                      aria-label={`pick ${v.id}`}
                      checked={picked.includes(v.ref)}
                      onChange={() => pick(v.ref)}
                    />
                  </label>
                  <div>
                    <a href={href('versions', v.ref)} class="version-id">
                      {v.id}
                    </a>
                    {v.tags.map((t) => (
                      <span class="tag" key={t}>
                        {t}
                      </span>
                    ))}
                    {!v.isCommitted && <span class="badge">uncommitted</span>}
                    <div>{v.message}</div>
                    <div class="muted small">
                      {when(v.committedAt ?? v.createdAt)} · {count(v.fileCount)} files · {bytes(v.size)} ·{' '}
                      <a href={href('lineage', v.ref)}>lineage</a>
                    </div>
                  </div>
                </li>
              ))}
            </ol>
          </section>
        );
      }}
    </Status>
  );
}
