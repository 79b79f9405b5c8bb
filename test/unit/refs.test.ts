import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { DATASET_ID, PROVIDER_ID, VERSION_ID, newDatasetId, newProviderId, newVersionId } from '../../src/core/ids.js';
import {
  formatRef,
  parseRef,
  parseVersionRef,
  validateDatasetName,
  validateProviderName,
  validateTagName,
} from '../../src/core/refs.js';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return error as UsageError;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

describe('ids', () => {
  it('have the Gradient shapes: dst+12, spl+12, 7 lowercase alphanumerics', () => {
    for (let i = 0; i < 200; i++) {
      expect(newDatasetId()).toMatch(/^dst[a-z0-9]{12}$/);
      expect(newProviderId()).toMatch(/^spl[a-z0-9]{12}$/);
      expect(newVersionId()).toMatch(/^[a-z0-9]{7}$/);
    }
    expect(DATASET_ID.test('dstABCDEFGHIJKL')).toBe(false);
    expect(DATASET_ID.test('dst0123456789ab')).toBe(true);
    expect(PROVIDER_ID.test('spl0123456789ab')).toBe(true);
    expect(VERSION_ID.test('abc1234')).toBe(true);
    expect(VERSION_ID.test('abc12345')).toBe(false);
  });

  it('are random', () => {
    expect(new Set(Array.from({ length: 500 }, newVersionId)).size).toBe(500);
  });
});

describe('parseRef', () => {
  it.each([
    ['cifar10', { dataset: 'cifar10' }],
    ['cifar10:latest', { dataset: 'cifar10', selector: 'latest' }],
    ['cifar10:abc1234', { dataset: 'cifar10', selector: 'abc1234' }],
    ['dst0123456789ab:prod', { dataset: 'dst0123456789ab', selector: 'prod' }],
    ['my.data_set-2:v1.2', { dataset: 'my.data_set-2', selector: 'v1.2' }],
  ])('reads %j', (text, ref) => {
    expect(parseRef(text)).toEqual(ref);
  });

  it.each(['a:b:c', '', ':v1', 'ds:', 'a b', 'ds:v 1', 'ds/x', 'ds:x/y', 'ds=x', 'ds,x', 'ds:a=b', '::'])(
    'refuses the malformed ref %j',
    (text) => {
      expect(usageError(() => parseRef(text)).code).toBe('EREF');
    },
  );

  it('says what a ref looks like', () => {
    expect(usageError(() => parseRef('a:b:c')).message).toContain('DATASET[:VERSION|:TAG|:latest]');
  });
});

describe('parseVersionRef', () => {
  it('needs an explicit version', () => {
    expect(parseVersionRef('ds:abc1234')).toEqual({ dataset: 'ds', selector: 'abc1234' });
    expect(usageError(() => parseVersionRef('ds')).message).toContain('DATASET:VERSION');
    expect(usageError(() => parseVersionRef('ds:a:b')).code).toBe('EREF');
  });
});

describe('formatRef', () => {
  it('joins dataset and version with a colon', () => {
    expect(formatRef('dst0123456789ab', 'abc1234')).toBe('dst0123456789ab:abc1234');
  });
});

describe('name validation', () => {
  it.each(['cifar10', 'CIFAR-10', 'a', 'v1.2', 'x_y-z.0', 'a'.repeat(128), 'dst123', 'dst0123456789abc'])(
    'accepts the dataset name %j',
    (name) => {
      expect(() => validateDatasetName(name)).not.toThrow();
    },
  );

  it.each(['', 'bad/name', 'x=y', 'a:b', 'a,b', 'sp ace', 'tab\t', 'ünï', 'a'.repeat(129), 'new\nline'])(
    'refuses the dataset name %j',
    (name) => {
      expect(usageError(() => validateDatasetName(name)).code).toBe('ENAME');
    },
  );

  it('refuses a dataset name that looks like a dataset id, and "latest"', () => {
    expect(usageError(() => validateDatasetName('dst0123456789ab')).message).toContain('looks like a dataset id');
    expect(usageError(() => validateDatasetName('latest')).message).toContain('reserved');
  });

  it.each(['prod', 'v1.2', 'release_2024-01', 'abc1234'])('accepts the tag %j', (tag) => {
    expect(() => validateTagName(tag)).not.toThrow();
  });

  it.each(['', 'x=y', 'a/b', 'a:b', 'a,b', 'with space', 'a'.repeat(129)])('refuses the tag %j', (tag) => {
    expect(usageError(() => validateTagName(tag)).code).toBe('ENAME');
  });

  it('reserves the tag "latest"', () => {
    const error = usageError(() => validateTagName('latest'));
    expect(error.code).toBe('ENAME');
    expect(error.message).toContain('reserved');
  });

  it('checks storage provider names the same way, and refuses one that looks like a provider id', () => {
    expect(() => validateProviderName('team-s3')).not.toThrow();
    expect(usageError(() => validateProviderName('spl0123456789ab')).code).toBe('ENAME');
    expect(usageError(() => validateProviderName('s3://bucket')).code).toBe('ENAME');
  });
});
