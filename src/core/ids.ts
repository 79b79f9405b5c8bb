import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export const newDatasetId = (): string => `dst${randomString(12)}`;
export const newProviderId = (): string => `spl${randomString(12)}`;
export const newVersionId = (): string => randomString(7);
export const newRunId = (): string => `run${randomString(12)}`;

export const DATASET_ID = /^dst[a-z0-9]{12}$/;
export const PROVIDER_ID = /^spl[a-z0-9]{12}$/;
export const VERSION_ID = /^[a-z0-9]{7}$/;
export const RUN_ID = /^run[a-z0-9]{12}$/;
/** a blob's name: its sha256, in lower-case hex */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
