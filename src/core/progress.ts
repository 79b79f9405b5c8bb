/** Where transfer code reports progress; the command layer decides whether anything is drawn. */
export interface ProgressSink {
  start(totalFiles: number, totalBytes: number): void;
  advance(files: number, bytes: number): void;
  stop(): void;
}
