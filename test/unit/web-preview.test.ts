import { describe, expect, it } from 'vitest';
import { csvRows, inlineImageType, previewOf } from '../../src/web/preview.js';

describe("strata ui's previews", () => {
  it('shows raster images inline, never SVG or HTML', () => {
    expect(previewOf('a/b.PNG', Buffer.from('x')).kind).toBe('image');
    expect(inlineImageType('x.jpeg')).toBe('image/jpeg');
    expect(inlineImageType('x.svg')).toBeUndefined();
    expect(inlineImageType('x.html')).toBeUndefined();
    expect(previewOf('x.svg', Buffer.from('<svg onload="alert(1)"/>'))).toMatchObject({ kind: 'text' });
  });

  it('pretty-prints JSON, and shows JSON that does not parse as text', () => {
    expect(previewOf('d.json', Buffer.from('{"a":[1,2]}'))).toEqual({
      kind: 'json',
      text: '{\n  "a": [\n    1,\n    2\n  ]\n}',
      truncated: false,
    });
    expect(previewOf('d.json', Buffer.from('{"a":'))).toMatchObject({ kind: 'text', text: '{"a":' });
  });

  it('parses the first rows of CSV with quoting, and TSV', () => {
    expect(csvRows('a,b\n"x,y","say ""hi"""\r\n1,2', ',')).toEqual([
      ['a', 'b'],
      ['x,y', 'say "hi"'],
      ['1', '2'],
    ]);
    expect(previewOf('t.tsv', Buffer.from('a\tb\n1\t2\n'))).toEqual({
      kind: 'csv',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
      truncated: false,
    });
    const many = Array.from({ length: 80 }, (_, i) => `${i},x`).join('\n');
    expect(csvRows(many, ',')).toHaveLength(50);
  });

  it('shows binary content as a hex dump of its head', () => {
    const bytes = Buffer.from(Array.from({ length: 600 }, (_, i) => i % 256));
    const p = previewOf('blob.bin', bytes);
    expect(p).toMatchObject({ kind: 'hex', truncated: true });
    if (p.kind !== 'hex') throw new Error('not hex');
    expect(p.lines).toHaveLength(32);
    expect(p.lines[0]).toBe('00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  ................');
    expect(p.lines[4]).toMatch(/^00000040 {2}40 41 .* @ABCDEFGHIJKLMNO$/);
  });

  it('cuts a long text at a character, not inside one', () => {
    const text = `${'a'.repeat(64 * 1024 - 1)}é and more`; // é is 2 bytes: the head ends inside it
    const p = previewOf('notes.txt', Buffer.from(text));
    expect(p).toMatchObject({ kind: 'text', truncated: true });
    if (p.kind !== 'text') throw new Error('not text');
    expect(p.text).toBe('a'.repeat(64 * 1024 - 1));
  });

  it('takes text with invalid UTF-8 for binary', () => {
    expect(previewOf('x.txt', Buffer.from([0x61, 0xff, 0x62])).kind).toBe('hex');
  });
});
