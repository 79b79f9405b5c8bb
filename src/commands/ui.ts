import { spawn } from 'node:child_process';
import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../ui/base-command.js';
import { parseSize } from '../core/config.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export default class Ui extends StrataCommand<void> {
  static override enableJsonFlag = false;
  static override summary = 'Browse, diff, upload and trace versions in a local web app';
  static override description =
    'Serves the web app from this process until Ctrl-C. It listens on loopback only unless --host says otherwise; the URL it prints carries a session token every request needs. See docs/ui.md.';
  static override examples = ['<%= config.bin %> ui', '<%= config.bin %> ui --port 8700 --no-open'];
  static override flags = {
    port: Flags.integer({
      description: 'the port to listen on (default: any free port)',
      default: 0,
      min: 0,
      max: 65535,
    }),
    host: Flags.string({
      description: 'the address to listen on; anything but loopback lets other machines reach it (with the token)',
      default: '127.0.0.1',
    }),
    open: Flags.boolean({ description: 'open the page in a browser', default: true, allowNo: true }),
    'max-upload': Flags.string({
      description: 'the largest upload request the page may send (a batch of files)',
      default: '4GiB',
    }),
  };

  protected async execute(): Promise<void> {
    const { flags } = await this.parse(Ui);
    const maxUploadBytes = parseSize(flags['max-upload']);
    if (!LOOPBACK.has(flags.host)) {
      this.ctx.reporter.warn(
        `listening on ${flags.host}: other machines that reach it can use this app (with the token in the URL)`,
      );
    }
    // Loaded only here: the server and its page cost other commands nothing at start-up.
    const { serveUi } = await import('../web/server.js');
    const ui = await serveUi(this.ctx, { host: flags.host, port: flags.port, maxUploadBytes });
    this.log(`Strata UI: ${ui.url}`);
    this.log('Press Ctrl-C to stop.');
    if (flags.open) openBrowser(ui.url);
    await new Promise<void>((resolve) => {
      if (this.signal.aborted) return resolve();
      this.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    await ui.close();
  }

  protected render(): undefined {
    return undefined;
  }
}

/** The desktop's browser, if there is one; on a machine without (a server, CI) nothing happens. */
function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser to open: the URL is printed
  }
}
