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
