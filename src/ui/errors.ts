import { environmentFailure, ExitCode, retryableNetworkError, StrataError } from '../core/errors.js';

export interface ErrorReport {
  code: string;
  message: string;
  exitCode: number;
}

/** One line for a person: the first line of the message, without oclif's usage trailer. */
const firstLine = (message: string): string => message.split('\n')[0]!.trim();

/** oclif's parse errors span lines ("The following error occurred:", the reason, "See more help"). */
function oclifReason(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^The following errors? occurred:?$/.test(l) && !/^See more help with/.test(l));
  return lines.join('; ') || 'usage error';
}

/**
 * Maps anything thrown to a code, a one-line message and the exit code of its class. Only the
 * message is shown, never the cause: causes can carry request details and secrets.
 */
export function reportError(error: unknown): ErrorReport {
  if (error instanceof StrataError) {
    return { code: error.code, message: firstLine(error.message), exitCode: error.exitCode };
  }
  const local = environmentFailure(error);
  if (local) return reportError(local);
  const e = error as { name?: string; code?: string; message?: string; oclif?: { exit?: number } };
  if (retryableNetworkError(error)) {
    // A connection that broke after every retry the storage's bound allowed.
    return {
      code: 'EUNREACHABLE',
      message: `the connection to the storage broke off (${e?.code ?? e?.message}); check the network and run the same command again`,
      exitCode: ExitCode.storage,
    };
  }
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR') {
    // Ctrl-C arrives as the command's own abort reason (see the base command); any other abort
    // is a request a library gave up on.
    return {
      code: 'ESTORAGE',
      message: 'a storage request was aborted before it finished; try again',
      exitCode: ExitCode.storage,
    };
  }
  if (e?.oclif?.exit !== undefined) {
    // oclif's own parse errors: a missing or unknown flag, a bad value.
    const exit = e.oclif.exit === 0 ? 0 : ExitCode.usage;
    return { code: 'EUSAGE', message: `${oclifReason(e.message ?? 'usage error')} (see --help)`, exitCode: exit };
  }
  return {
    code: 'EUNEXPECTED',
    message: `unexpected error: ${firstLine(e?.message ?? String(error))}`,
    exitCode: ExitCode.unexpected,
  };
}
