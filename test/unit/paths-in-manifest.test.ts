import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { assertManifestPath, checkManifestPath, normalizeVersionPath } from '../../src/core/paths-in-manifest.js';

describe('checkManifestPath', () => {
  it.each(['a', 'a.txt', 'a/b/c.bin', '.hidden', 'a/.hidden/b', 'a..b', '...', '..a', 'a/b..', 'sp ace/ünï.txt'])(
    'accepts %j',
    (path) => {
      expect(checkManifestPath(path)).toBeUndefined();
    },
  );

  it.each([
    ['', 'empty path'],
    ['/abs.txt', 'absolute path'],
    ['/', 'absolute path'],
    ['..', '".." segment'],
    ['../escape.txt', '".." segment'],
    ['a/../../escape.txt', '".." segment'],
    ['a/..', '".." segment'],
    ['.', '"." segment'],
    ['./a', '"." segment'],
    ['a/./b', '"." segment'],
    ['a//b', 'empty path segment'],
    ['a/', 'empty path segment'],
    ['a\\..\\b', 'path contains a backslash'],
    ['a\0b', 'path contains a NUL byte'],
    ['x'.repeat(4097), 'path longer than 4096 characters'],
  ])('refuses %j (%s)', (path, problem) => {
    expect(checkManifestPath(path)).toBe(problem);
  });

  it('assertManifestPath throws a usage error naming the path', () => {
    expect(assertManifestPath('a/b')).toBe('a/b');
    expect(() => assertManifestPath('../x')).toThrow(UsageError);
    expect(() => assertManifestPath('../x')).toThrow(/unsafe path "\.\.\/x"/);
  });
});

describe('normalizeVersionPath', () => {
  it.each([
    ['/', ''],
    ['', ''],
    ['//', ''],
    ['/a', 'a'],
    ['a', 'a'],
    ['/a/b/', 'a/b'],
    ['a/b//', 'a/b'],
    ['///a/b', 'a/b'],
  ])('turns %j into %j', (input, expected) => {
    expect(normalizeVersionPath(input)).toBe(expected);
  });

  it.each(['/a/../b', '/../x', 'a//b', '/./a', 'a\\b'])('refuses %j', (input) => {
    expect(() => normalizeVersionPath(input)).toThrow(UsageError);
  });
});
