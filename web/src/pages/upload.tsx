import { useState } from 'preact/hooks';
import { enc, post } from '../api.js';
import { bytes } from '../format.js';
import { chosenFiles, droppedFiles, upload, type Picked } from '../upload.js';
import { ErrorLine } from './common.js';

/** Gradient's web uploader: drop files or a folder into the open version, then commit it. */
export function Upload({ refId, onDone }: { refId: string; onDone: () => void }) {
  const [progress, setProgress] = useState<{ sent: number; total: number; stage: string; ms?: number }>();
  const [error, setError] = useState<string>();
  const [over, setOver] = useState(false);
  const busy = progress !== undefined && !progress.stage.startsWith('done');

  const start = async (files: Picked[]): Promise<void> => {
    if (files.length === 0) return;
    setError(undefined);
    setProgress({ sent: 0, total: 0, stage: 'uploading' });
    const started = performance.now();
    try {
      const r = await upload(refId, '/', files, (sent, total, stage) => setProgress({ sent, total, stage }));
      const ms = performance.now() - started;
      setProgress({
        sent: 1,
        total: 1,
        stage: `done: ${r.files} files stored, ${bytes(r.bytesUploaded)} uploaded in ${(ms / 1000).toFixed(1)} s`,
        ms,
      });
      onDone();
    } catch (e) {
      setProgress(undefined);
      setError((e as Error).message);
    }
  };
  const commit = async (): Promise<void> => {
    setError(undefined);
    try {
      await post(`/api/versions/${enc(refId)}/commit`);
      onDone();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div class="upload">
      <div
        class={`dropzone${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer) void droppedFiles(e.dataTransfer.items).then(start);
        }}
      >
        Drop files or a folder here, or choose{' '}
        <Picker label="files" testId="pick-files" disabled={busy} onPick={start} /> or a{' '}
        <Picker label="folder" testId="pick-folder" folder disabled={busy} onPick={start} />.
      </div>
      {progress && (
        <div class="progress" data-testid="upload-progress" data-elapsed-ms={progress.ms?.toFixed(0)}>
          <progress max={progress.total || 1} value={progress.sent} /> <span>{progress.stage}</span>
        </div>
      )}
      <div class="toolbar">
        <button onClick={() => void commit()} disabled={busy}>
          Commit this version
        </button>
      </div>
      <ErrorLine message={error} />
    </div>
  );
}

/** A link that opens the browser's file dialog, for files or (folder) a whole folder. */
function Picker(props: {
  label: string;
  testId: string;
  folder?: boolean;
  disabled: boolean;
  onPick: (files: Picked[]) => Promise<void>;
}) {
  return (
    <label class="link">
      {props.label}
      <input
        type="file"
        hidden
        multiple={!props.folder}
        // @ts-expect-error webkitdirectory is not in the DOM typings
        webkitdirectory={props.folder}
        data-testid={props.testId}
        disabled={props.disabled}
        onChange={(e) => void props.onPick(chosenFiles((e.target as HTMLInputElement).files!))}
      />
    </label>
  );
}
