import { enc, get, withQuery, type FilePreview } from '../api.js';
import { useLoad } from '../hooks.js';
import { bytes, mode, when } from '../format.js';
import { Status } from './common.js';

/** A file's facts and preview; every byte shown was checked against its sha256 by the server. */
export function FilePane({ refId, path }: { refId: string; path: string }) {
  const loaded = useLoad(
    () => get<FilePreview>(withQuery(`/api/versions/${enc(refId)}/preview`, { path })),
    `${refId}|${path}`,
  );
  const content = (inline: boolean): string =>
    withQuery(`/api/versions/${enc(refId)}/content`, { path, inline: inline ? '1' : undefined });
  return (
    <aside class="preview" data-testid="preview">
      <Status loaded={loaded}>
        {(f) => (
          <>
            <h2>{f.path.split('/').at(-1)}</h2>
            <div class="muted small">
              {bytes(f.size)} · mode {mode(f.mode)} · {when(f.mtime)}
            </div>
            <div class="muted small sha">sha256 {f.sha256}</div>
            <a class="button" href={content(false)} download>
              Download
            </a>
            <Body preview={f.preview} image={content(true)} />
          </>
        )}
      </Status>
    </aside>
  );
}

function Body({ preview, image }: { preview: FilePreview['preview']; image: string }) {
  switch (preview.kind) {
    case 'image':
      return <img class="image" src={image} alt="preview" />;
    case 'text':
    case 'json':
      return (
        <pre class="text">
          {preview.text}
          {preview.truncated && '\n…'}
        </pre>
      );
    case 'csv':
      return (
        <table class="csv">
          <tbody>
            {preview.rows.map((row, i) => (
              <tr key={i}>{row.map((cell, j) => (i === 0 ? <th key={j}>{cell}</th> : <td key={j}>{cell}</td>))}</tr>
            ))}
          </tbody>
        </table>
      );
    case 'hex':
      return (
        <pre class="hex">
          {preview.lines.join('\n')}
          {preview.truncated && '\n…'}
        </pre>
      );
    default:
      return <p class="muted">{preview.reason}</p>;
  }
}
