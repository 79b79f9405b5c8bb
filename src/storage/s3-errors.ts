import { NotFoundError, PreconditionFailedError, StorageError, StrataError } from '../core/errors.js';
import { GaveUp } from './endpoint.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
]);

/**
 * Turns an SDK failure into a one-line StorageError that says what to do, keeping the SDK error
 * as the cause (never printed: it can carry request details).
 */
export function s3Failure(error: unknown, doing: string, bucket: string, endpoint?: string): Error {
  if (error instanceof StrataError) return error;
  if (error instanceof GaveUp) {
    // Our own timeout aborts an attempt that got no answer: say so, not "aborted".
    const timedOut = (error.last as { name?: string } | undefined)?.name === 'AbortError';
    const last = timedOut
      ? new StorageError('no answer in time', { code: 'EUNREACHABLE' })
      : s3Failure(error.last, doing, bucket, endpoint);
    const why = last.message.replace(/; check the endpoint and the network$/, '');
    return new StorageError(
      `gave up after ${Math.round(error.waitedMs / 1000)} s with no successful answer from ${endpoint ?? 'AWS S3'} (last: ${why}); check the endpoint and the network, or allow longer with --timeout`,
      { cause: error, code: last instanceof StorageError && last.code !== 'ESTORAGE' ? last.code : 'EUNREACHABLE' },
    );
  }
  const e = error as SdkError;
  const name = e.name ?? e.code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const where = endpoint ?? 'AWS S3';
  if (name === 'AbortError') return error as Error;
  if (status === 412 || name === 'PreconditionFailed') return new PreconditionFailedError(doing.replace(/^\w+ /, ''));
  if (name === 'NoSuchKey' || (status === 404 && name === 'NotFound')) {
    return new NotFoundError(`no such object while ${doing} in s3://${bucket}`, 'ENOKEY');
  }
  const say = (message: string, code: string): StorageError => new StorageError(message, { cause: error, code });
  switch (name) {
    case 'SignatureDoesNotMatch':
      return say(
        `${where} refused the request while ${doing}: the secret access key is wrong (SignatureDoesNotMatch)`,
        'ECREDENTIALS',
      );
    case 'InvalidAccessKeyId':
      return say(`${where} does not know this access key (InvalidAccessKeyId) while ${doing}`, 'ECREDENTIALS');
    case 'AccessDenied':
    case 'Forbidden':
      return say(
        `${where} denied access to bucket ${bucket} while ${doing} (AccessDenied): check the key's policy`,
        'EACCESS',
      );
    case 'NoSuchBucket':
      return say(`bucket ${bucket} does not exist at ${where} (NoSuchBucket)`, 'ENOBUCKET');
  }
  const code = e.code ?? name;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return say(
      `cannot reach ${where} while ${doing}: no answer in time (${code}); check the endpoint and the network`,
      'EUNREACHABLE',
    );
  }
  if (NETWORK.has(code) || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket hang up|timed? ?out/i.test(e.message ?? '')) {
    return say(`cannot reach ${where} while ${doing}: ${code}; check the endpoint and the network`, 'EUNREACHABLE');
  }
  return say(`S3 request failed while ${doing}: ${name}${status ? ` (HTTP ${status})` : ''}`, 'ESTORAGE');
}
