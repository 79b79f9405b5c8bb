// Pack tables and the bucket's format document are untrusted input (docs/packs.md): every way a
// table can lie about its pack is refused, naming the key and what is wrong.
import { describe, expect, it } from 'vitest';
import { formatDoc, packTableDoc, parseFormatDoc, parsePackTable } from '../../src/storage/pack-docs.js';

const ID = 'ab'.repeat(32);
const KEY = `packs/ab/${ID}.json`;
const sha = (n: number): string => n.toString(16).padStart(64, '0');
const table = (blobs: unknown, extra: Record<string, unknown> = {}): Buffer =>
  Buffer.from(JSON.stringify({ format: 'strata.pack/1', pack: ID, size: 100, blobs, ...extra }));

describe('pack tables', () => {
  it('a table as a put writes it reads back as its entries', () => {
    const entries = [
      { sha256: sha(1), offset: 0, size: 40 },
      { sha256: sha(2), offset: 40, size: 0 },
      { sha256: sha(3), offset: 40, size: 60 },
    ];
    const bytes = Buffer.from(JSON.stringify(packTableDoc(ID, 100, entries)));
    expect(parsePackTable(KEY, bytes, ID, 100)).toEqual(entries);
  });

  it.each([
    ['not JSON', Buffer.from('{'), 100, 'not valid JSON'],
    ['another format', table([], { format: 'strata.pack/2' }), 100, 'format is not strata.pack/1'],
    ['another pack', table([], { pack: 'cd'.repeat(32) }), 100, 'names another pack than its key'],
    ['a missing pack', table([]), undefined, 'its pack is missing'],
    ['another size', table([]), 99, 'says its pack has 100 bytes; the bucket holds 99'],
    ['blobs not a list', table({}), 100, '"blobs" is not a list'],
    ['an entry not a triple', table([[sha(1), 0]]), 100, 'entry #0 is not [sha256, offset, size]'],
    ['a bad sha256', table([['xyz', 0, 1]]), 100, 'entry #0: sha256 is not 64 hex digits'],
    ['a negative offset', table([[sha(1), -1, 1]]), 100, 'entry #0: bad offset or size'],
    ['a fractional size', table([[sha(1), 0, 1.5]]), 100, 'entry #0: bad offset or size'],
    [
      'overlapping entries',
      table([
        [sha(1), 0, 50],
        [sha(2), 49, 1],
      ]),
      100,
      'entry #1 overlaps the one before it',
    ],
    ['an entry past the end', table([[sha(1), 90, 11]]), 100, 'entry #0 ends past the end of its pack'],
    [
      'a blob twice',
      table([
        [sha(1), 0, 10],
        [sha(1), 10, 10],
      ]),
      100,
      `blob ${sha(1)} appears twice`,
    ],
  ])('%s is refused', (_, bytes, packSize, why) => {
    expect(() => parsePackTable(KEY, bytes, ID, packSize)).toThrow(`refusing ${KEY}: ${why}`);
  });
});

describe('the format document', () => {
  const doc = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  it('what a put writes names nothing unknown', () => {
    expect(parseFormatDoc('strata.json', doc(formatDoc()))).toEqual({ features: ['packs/1'], unknown: [] });
  });

  it('a later feature or format is named as unknown', () => {
    expect(
      parseFormatDoc('strata.json', doc({ format: 'strata.bucket/1', features: ['packs/1', 'zstd/1'] })).unknown,
    ).toEqual(['zstd/1']);
    expect(parseFormatDoc('strata.json', doc({ format: 'strata.bucket/2', features: [] })).unknown).toEqual([
      'strata.bucket/2',
    ]);
  });

  it('anything else is refused', () => {
    expect(() => parseFormatDoc('strata.json', Buffer.from('nope'))).toThrow('refusing strata.json: not valid JSON');
    expect(() => parseFormatDoc('strata.json', doc({ format: 'other' }))).toThrow('not a strata.bucket document');
    expect(() => parseFormatDoc('strata.json', doc({ format: 'strata.bucket/1', features: [1] }))).toThrow(
      '"features" is not a list',
    );
  });
});
