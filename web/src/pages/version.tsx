import { useState } from 'preact/hooks';
import { enc, get, post, withQuery, type FolderPage, type VersionDetails } from '../api.js';
import { useLoad } from '../hooks.js';
import { bytes, count, mode, when } from '../format.js';
import { href } from '../route.js';
import { ErrorLine, Status } from './common.js';
import { FilePane } from './file.js';
import { Upload } from './upload.js';

/** A version: its folders page by page, a file's preview beside them, and upload/commit/tag. */
export function VersionPage({ refId, path, file }: { refId: string; path: string; file: string | null }) {
  const details = useLoad(() => get<VersionDetails>(`/api/versions/${enc(refId)}`), refId);
  return (
    <Status loaded={details}>
      {(v) => (
        <section>
          <h1>
            <a href={href('datasets', v.datasetId)}>{v.datasetName}</a> : <span class="version-id">{v.id}</span>
            {v.tags.map((t) => (
              <span class="tag" key={t}>
                {t}
              </span>
            ))}
            {!v.isCommitted && <span class="badge">uncommitted</span>}
          </h1>
          <p class="muted">
            {v.message} · {count(v.fileCount)} files · {bytes(v.size)} · {when(v.committedAt ?? v.createdAt)} ·{' '}
            <a href={href('lineage', v.ref)}>lineage</a>
            {v.provenance && (
              <>
                {' '}
                · made by run <a href={href('runs', v.provenance.runId)}>{v.provenance.job}</a>
              </>
            )}
          </p>
          {v.isCommitted ? (
            <TagForm refId={v.ref} onDone={details.reload} />
          ) : (
            <Upload refId={v.ref} onDone={details.reload} />
          )}
          <div class="browse">
            <Folder refId={v.ref} path={path} selected={file} key={`${v.ref}/${path}/${v.fileCount}`} />
            {file && <FilePane refId={v.ref} path={file} />}
          </div>
        </section>
      )}
    </Status>
  );
}

type Cursor = { after?: string; before?: string; last?: string };

function Folder({ refId, path, selected }: { refId: string; path: string; selected: string | null }) {
  const [cursor, setCursor] = useState<Cursor>({});
  const key = `${refId}|${path}|${JSON.stringify(cursor)}`;
  const page = useLoad(
    () =>
      get<FolderPage>(withQuery(`/api/versions/${enc(refId)}/files`, { path: path || '/', limit: '100', ...cursor })),
    key,
  );
  const crumbs = path === '' ? [] : path.split('/');
  return (
    <div class="folder">
      <nav class="crumbs" aria-label="folder">
        <a href={href('versions', refId)}>/</a>
        {crumbs.map((c, i) => (
          <span key={i}>
            <a href={href('versions', refId, { path: crumbs.slice(0, i + 1).join('/') })}>{c}</a>/
          </span>
        ))}
      </nav>
      <Status loaded={page}>
        {(p) => (
          <>
            <div class="muted small">
              {count(p.fileCount)} files below · {bytes(p.size)}
            </div>
            <table class="list files" data-testid="files">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Size</th>
                  <th>Mode</th>
                  <th>Modified</th>
                </tr>
              </thead>
              <tbody>
                {p.entries.map((e) => (
                  <tr key={e.path} class={e.path === selected ? 'selected' : ''}>
                    <td>
                      {e.type === 'dir' ? (
                        <a class="dir" href={href('versions', refId, { path: e.path })}>
                          {e.name}/
                        </a>
                      ) : (
                        <a class="file" href={href('versions', refId, { path, file: e.path })}>
                          {e.name}
                        </a>
                      )}
                    </td>
                    <td class="num">{bytes(e.size)}</td>
                    <td>{e.type === 'dir' ? `${count(e.fileCount ?? 0)} files` : mode(e.mode)}</td>
                    <td>{when(e.mtime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div class="pager">
              <button disabled={p.before === null} onClick={() => setCursor({})}>
                First
              </button>
              <button disabled={p.before === null} onClick={() => setCursor({ before: p.before! })}>
                Previous
              </button>
              <button disabled={p.after === null} onClick={() => setCursor({ after: p.after! })}>
                Next
              </button>
              <button disabled={p.after === null} onClick={() => setCursor({ last: '1' })}>
                Last
              </button>
            </div>
          </>
        )}
      </Status>
    </div>
  );
}

function TagForm({ refId, onDone }: { refId: string; onDone: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      await post(`/api/versions/${enc(refId)}/tags`, { name });
      setName('');
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form class="toolbar" onSubmit={(e) => void submit(e)}>
      <input
        aria-label="tag name"
        placeholder="tag name"
        value={name}
        onInput={(e) => setName((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Tag this version</button>
      <ErrorLine message={error} />
    </form>
  );
}
