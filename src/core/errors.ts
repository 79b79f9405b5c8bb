/**
 * Domain errors: framework-free, each with a stable code and the exit code of its class.
 * The base command maps them to one stderr line (or a JSON error object under --json).
 */
export const ExitCode = {
  unexpected: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  integrity: 5,
  storage: 6,
  /** a job (jobs exec, jobs run) that exited non-zero or was killed: its own code is in the result */
  jobFailed: 7,
  /** this machine: disk full, permission denied, the catalog damaged or locked */
  environment: 8,
  interrupted: 130,
} as const;

export class StrataError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends StrataError {
  constructor(message: string, code = 'EUSAGE') {
    super(message, code, ExitCode.usage);
  }
}

export class NotFoundError extends StrataError {
  constructor(message: string, code = 'ENOTFOUND') {
    super(message, code, ExitCode.notFound);
  }
}

export class ConflictError extends StrataError {
  constructor(message: string, code = 'ECONFLICT') {
    super(message, code, ExitCode.conflict);
  }
}

export class IntegrityError extends StrataError {
  constructor(message: string, code = 'EINTEGRITY') {
    super(message, code, ExitCode.integrity);
  }
}

/** Content read back that is not what its sha256 says; `got` names what arrived (sha256 and size). */
export class ContentMismatch extends IntegrityError {
  constructor(
    message: string,
    readonly got: string,
  ) {
    super(message);
  }
}

export class StorageError extends StrataError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.code ?? 'ESTORAGE', ExitCode.storage, options);
  }
}

/** This machine is in the way, not Strata and not the storage: a full disk, a damaged or locked catalog. */
export class EnvironmentError extends StrataError {
  constructor(message: string, code = 'EENVIRONMENT', options?: { cause?: unknown }) {
    super(message, code, ExitCode.environment, options);
  }
}

export class InterruptedError extends StrataError {
  constructor(message = 'interrupted; what was stored is kept: run the same command again to finish') {
    super(message, 'EINTERRUPTED', ExitCode.interrupted);
  }
}

/** A conditional write lost: the object exists (If-None-Match) or changed (If-Match). */
export class PreconditionFailedError extends StrataError {
  constructor(readonly key: string) {
    super(`${key} was changed by someone else`, 'EPRECONDITION', ExitCode.conflict);
  }
}

const ON_THIS_MACHINE: Record<string, [code: string, say: (where: string) => string]> = {
  ENOSPC: ['ENOSPC', (w) => `no space left on the device holding ${w}; free some and run the same command again`],
  EDQUOT: ['ENOSPC', (w) => `disk quota exceeded writing ${w}; free some and run the same command again`],
  EACCES: ['EACCES', (w) => `permission denied: ${w}`],
  EPERM: ['EACCES', (w) => `operation not permitted: ${w}`],
  EROFS: ['EROFS', (w) => `read-only filesystem: ${w}`],
  EMFILE: ['EMFILE', () => 'too many open files: raise the limit (ulimit -n) or lower --concurrency'],
  ENFILE: ['EMFILE', () => 'too many open files on this machine: close some, or lower --concurrency'],
  EIO: ['EIO', (w) => `input/output error on ${w} (a failing disk or network filesystem?)`],
  ENAMETOOLONG: ['ENAMETOOLONG', (w) => `a name is too long for the filesystem: ${w}`],
};

/**
 * A failure of this machine (a full disk, a permission, a read-only or failing filesystem) as the
 * environment class, naming the path; undefined for anything else.
 */
export function environmentFailure(error: unknown): EnvironmentError | undefined {
  const e = error as NodeJS.ErrnoException & { dest?: string };
  const known = typeof e?.code === 'string' ? ON_THIS_MACHINE[e.code] : undefined;
  if (!known) return undefined;
  const where = e.path ? `${e.path}${e.dest ? ` → ${e.dest}` : ''}` : (e.syscall ?? 'a file');
  return new EnvironmentError(known[1](where), known[0], { cause: error });
}

/** Network failures that may pass: the connection, not the request. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** Whether a network-level failure may pass (also a garbled answer: HTTP parser errors). */
export const retryableNetworkError = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (RETRYABLE_CODES.has(code) || code.startsWith('HPE_') || code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  // A body cut short: Node's http client says "aborted".
  return (error as Error | undefined)?.message === 'aborted';
};

/** Names where a file operation failed when the error does not (a write to an open file has no path). */
export function failedAt<E>(error: E, path: string): E {
  const e = error as NodeJS.ErrnoException | undefined;
  if (e instanceof Error && !(e instanceof StrataError) && typeof e.syscall === 'string' && !e.path) e.path = path;
  return error;
}
