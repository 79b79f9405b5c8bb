import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import type { ProgressSink } from '../core/progress.js';
import { formatBytes } from './table.js';

/**
 * Files and bytes done of total, rate and ETA on stderr, drawn by cli-progress; nothing at all
 * when stderr is not a terminal or the command prints JSON.
 */
export function progressBar(enabled: boolean, label: string): ProgressSink | undefined {
  if (!enabled || !process.stderr.isTTY) return undefined;
  // Loaded only for a terminal: most runs draw no bar.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {files}/{totalFiles} files | {done}/{totalBytes} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let files = 0;
  let totalFiles = 0;
  let bytes = 0;
  let totalBytes = 0;
  const started = Date.now();
  const payload = () => ({
    files,
    totalFiles,
    done: formatBytes(bytes),
    // not `total`: cli-progress fills that placeholder itself, with the raw byte count
    totalBytes: formatBytes(totalBytes),
    rate: formatBytes(bytes / Math.max(0.001, (Date.now() - started) / 1000)),
  });
  return {
    start(nFiles, nBytes) {
      totalFiles = nFiles;
      totalBytes = nBytes;
      bar.start(Math.max(1, nBytes), 0, payload());
    },
    advance(nFiles, nBytes) {
      files += nFiles;
      bytes += nBytes;
      bar.update(bytes, payload());
    },
    stop() {
      bar.stop();
    },
  };
}
