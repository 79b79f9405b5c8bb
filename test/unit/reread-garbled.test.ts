import { describe, expect, it } from 'vitest';
import { ContentMismatch, IntegrityError, StorageError } from '../../src/core/errors.js';
import { rereadGarbled } from '../../src/transfer/read-hashed.js';

/** A read that fails with each of `outcomes` in turn (a ContentMismatch naming what arrived), then succeeds. */
function reads(outcomes: (string | Error)[]): { read: () => Promise<string>; count: () => number } {
  let n = 0;
  return {
    read: async () => {
      const outcome = outcomes[n++];
      if (outcome === undefined) return 'right';
      throw typeof outcome === 'string' ? new ContentMismatch(`got ${outcome}`, outcome) : outcome;
    },
    count: () => n,
  };
}

describe('rereadGarbled', () => {
  it('reads again while each read brings other wrong content (a path that garbles)', async () => {
    const r = reads(['a:1', 'b:1', 'c:1']);
    expect(await rereadGarbled(r.read)).toBe('right');
    expect(r.count()).toBe(4);
  });

  it('the same wrong content twice is read again; three times is what storage holds: an integrity failure', async () => {
    const twice = reads(['a:1', 'a:1']);
    expect(await rereadGarbled(twice.read)).toBe('right');
    const thrice = reads(['a:1', 'b:1', 'a:1', 'a:1']);
    await expect(rereadGarbled(thrice.read)).rejects.toThrow('got a:1');
    expect(thrice.count()).toBe(4);
  });

  it('gives up after 5 reads that were all wrong', async () => {
    const r = reads(['a:1', 'b:1', 'c:1', 'd:1', 'e:1', 'f:1']);
    await expect(rereadGarbled(r.read)).rejects.toBeInstanceOf(ContentMismatch);
    expect(r.count()).toBe(5);
  });

  it('another integrity failure is read again up to three times; anything else is not read again', async () => {
    const thrice = reads([
      new IntegrityError('too long'),
      new IntegrityError('too long'),
      new IntegrityError('too long'),
    ]);
    await expect(rereadGarbled(thrice.read)).rejects.toThrow('too long');
    expect(thrice.count()).toBe(3);
    const storage = reads([new StorageError('down')]);
    await expect(rereadGarbled(storage.read)).rejects.toBeInstanceOf(StorageError);
    expect(storage.count()).toBe(1);
  });
});
