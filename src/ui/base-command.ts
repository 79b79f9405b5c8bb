import { setMaxListeners } from 'node:events';
import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import type { Input, ParserOutput } from '@oclif/core/interfaces';
import { parseTimeout } from '../core/config.js';
import { AppContext } from '../services/context.js';
import { strataPaths } from '../core/paths.js';
import { reportError } from './errors.js';
import { InterruptedError } from '../core/errors.js';
import { progressBar } from './progress.js';
import type { ProgressSink } from '../core/progress.js';

/** oclif's FlagOutput and ArgOutput, which its interfaces do not export. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Output = { [name: string]: any };

/**
 * Every strata command: builds the app context on first use and closes it, renders the result of
 * execute() as text (or, with --json, oclif prints it as JSON), and maps any failure to one line
 * on stderr (or a JSON error object on stdout) and the exit code of its class.
 */
export abstract class StrataCommand<T> extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {
    timeout: Flags.string({
      description:
        'give up on a storage endpoint that has not answered successfully for this long (default 88s, or timeout in the config)',
      helpGroup: 'GLOBAL',
    }),
  };

  private context?: AppContext;
  private timeoutMs?: number;
  private readonly abort = new AbortController();
  private readonly onSigint = (): void => this.abort.abort();

  protected get ctx(): AppContext {
    this.context ??= new AppContext(
      strataPaths(),
      { warn: (m) => this.warnLine(m), info: (m) => process.stderr.write(`${m}\n`) },
      process.env,
      this.timeoutMs,
    );
    return this.context;
  }

  /** Aborted on Ctrl-C, so long transfers stop cleanly and say they were interrupted. */
  protected get signal(): AbortSignal {
    return this.abort.signal;
  }

  protected progress(label: string): ProgressSink | undefined {
    return progressBar(!this.jsonEnabled(), label);
  }

  /** oclif's parse, keeping the global --timeout for the app context (built after it). */
  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Input<F, B, A>,
    argv?: string[],
  ): Promise<ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv);
    const { timeout } = parsed.flags as { timeout?: string };
    if (timeout !== undefined) this.timeoutMs = parseTimeout(timeout);
    return parsed;
  }

  protected abstract execute(): Promise<T>;

  /** The text a person sees on stdout (or its lines, printed as they come); undefined prints nothing. */
  protected abstract render(result: T): string | Iterable<string> | undefined;

  async run(): Promise<T> {
    // Every transfer in flight listens for the abort: hundreds at once are expected.
    setMaxListeners(0, this.abort.signal);
    process.once('SIGINT', this.onSigint);
    const result = await this.execute();
    if (!this.jsonEnabled()) {
      const text = this.render(result);
      if (typeof text === 'string') this.log(text);
      else if (text !== undefined) await writeLines(text);
    }
    return result;
  }

  override async catch(error: Error & { exitCode?: number }): Promise<void> {
    const explained = this.abort.signal.aborted ? new InterruptedError() : (this.context?.explain(error) ?? error);
    const report = reportError(explained);
    process.exitCode = report.exitCode;
    if (this.jsonEnabled()) this.logJson({ error: { code: report.code, message: report.message } });
    else process.stderr.write(`Error: ${report.message}\n`);
  }

  override async finally(error: Error | undefined): Promise<void> {
    process.removeListener('SIGINT', this.onSigint);
    this.context?.close();
    await super.finally(error);
  }

  protected warnLine(message: string): void {
    process.stderr.write(`Warning: ${message}\n`);
  }
}

/**
 * Lines to stdout in chunks of about 64 KiB (one write per line costs more than the line), each
 * after the reader took the last: a pipe is written asynchronously, and a million lines would
 * otherwise wait in memory for a slow reader.
 */
async function writeLines(lines: Iterable<string>): Promise<void> {
  const out = process.stdout;
  // A reader that stops early (`| head`) closes the pipe: the listing ends quietly, as ls's does.
  // The listener stays: the last write's EPIPE may come after this returns.
  let closed = false;
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        for (const event of ['drain', 'close', 'error']) out.off(event, done);
        resolve();
      };
      for (const event of ['drain', 'close', 'error']) out.once(event, done);
    });
  let chunk = '';
  for (const line of lines) {
    if (closed) return;
    chunk += `${line}\n`;
    if (chunk.length >= 65536) {
      if (!out.write(chunk)) await drained();
      chunk = '';
    }
  }
  if (chunk !== '' && !closed) out.write(chunk);
}
