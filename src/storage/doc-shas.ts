import { SHA256_HEX } from '../core/ids.js';
import { NotFoundError } from '../core/errors.js';
import { readAgainWhileBroken, type StorageBackend } from './backend.js';
import { refuse } from './records.js';

// The sha256s a manifest or a draft names, read from its JSON as it streams in. gc needs only
// them, and a million-file manifest is ~150 MB of JSON, most of a gigabyte once parsed: the scan
// holds a few bytes of state instead. It checks the JSON grammar of the document's structure (so
// a damaged byte that would make it name fewer blobs is refused, as JSON.parse refuses it; what
// JSON.parse also refuses inside a string, a control character, is not looked for), and
// refuses as the whole-document parse does (records.ts) what is not an object of the expected
// format with a "files" list of entries that each name a sha256. It does not check the rest
// (paths, sizes), which gc does not use. Where a valid document is odd (a key twice), it names
// more blobs, never fewer: a sha256 it missed would be a blob gc deletes.

const ATOM = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;
/** Keys longer than this (raw, escapes included) are none the scan looks for. */
const KEY_BYTES = 64;
/** A sha256's raw string, escapes included (\u0061 is six bytes for one). */
const VALUE_BYTES = 6 * 64;
/** Longer numbers are refused (a number in these documents is a size, a mode or a time). */
const ATOM_BYTES = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const [OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY, COMMA, COLON] = [0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a];

/** What a container expects next. */
type Expect = 'key' | 'colon' | 'value' | 'comma';

interface Level {
  array: boolean;
  expect: Expect;
  /** nothing in it yet: it may close now */
  empty: boolean;
  /** in an object: the key whose value comes or came last */
  key: string | undefined;
  /** an entry of the files list: whether it named its sha256 */
  named: boolean;
}

/** What a string being read is, when its text is wanted. */
type Capture = 'key' | 'format' | 'sha256' | undefined;

/** Feed it the document's bytes in order (push), then end(); each push returns the sha256s it found. */
export class FileShaScanner {
  private readonly stack: Level[] = [];
  private string: { capture: Capture; bytes: number[]; escaped: boolean } | undefined;
  private atom: number[] | undefined;
  private sawFiles = false;
  private sawFormat = false;
  /** entries of the files list begun */
  private entries = 0;
  private ended = false;

  constructor(
    private readonly key: string,
    private readonly format: string,
  ) {}

  push(chunk: Buffer): string[] {
    const found: string[] = [];
    // Most bytes are inside strings (paths): skipped to the next quote or backslash natively.
    let backslash = chunk.indexOf(BACKSLASH);
    for (let i = 0; i < chunk.length;) {
      const string = this.string;
      if (string) {
        if (string.escaped) {
          string.escaped = false;
          this.keep(string, chunk, i, i + 1);
          i++;
          continue;
        }
        if (backslash !== -1 && backslash < i) backslash = chunk.indexOf(BACKSLASH, i);
        const quote = chunk.indexOf(QUOTE, i);
        const stop = backslash !== -1 && (quote === -1 || backslash < quote) ? backslash : quote;
        this.keep(string, chunk, i, stop === -1 ? chunk.length : stop);
        if (stop === -1) break;
        if (stop === backslash) {
          string.escaped = true;
          this.keep(string, chunk, stop, stop + 1);
        } else {
          this.string = undefined;
          this.stringEnded(string, found);
        }
        i = stop + 1;
        continue;
      }
      const c = chunk[i++]!;
      if (this.atom) {
        if (!isDelimiter(c)) {
          if (this.atom.length >= ATOM_BYTES) this.refuse('not valid JSON (a number too long)');
          this.atom.push(c);
          continue;
        }
        this.atomEnded();
      }
      if (!isSpace(c)) this.structural(c);
    }
    return found;
  }

  /** Keeps a string's bytes `from`–`to` of the chunk when its text is wanted (up to what any wanted text can be). */
  private keep(string: { capture: Capture; bytes: number[] }, chunk: Buffer, from: number, to: number): void {
    if (!string.capture) return;
    for (let i = from; i < to && string.bytes.length <= VALUE_BYTES; i++) string.bytes.push(chunk[i]!);
  }

  /** The document is whole: refuses one that ended early, or lacked its format or files. */
  end(): void {
    if (this.atom) this.atomEnded();
    if (!this.ended || this.string) this.refuse('not valid JSON (it ends early)');
    if (!this.sawFormat) this.refuse(`format is not ${this.format}`);
    if (!this.sawFiles) this.refuse('"files" is not a list');
  }

  private structural(c: number): void {
    if (this.ended) this.refuse('not valid JSON (more after the document)');
    const top = this.stack.at(-1);
    if (!top) {
      if (c !== OPEN_OBJECT) this.refuse('not a JSON object');
      return this.open(false);
    }
    switch (top.expect) {
      case 'key':
        if (c === CLOSE_OBJECT && top.empty) return this.close();
        if (c !== QUOTE) this.refuse('not valid JSON (a key is not a string)');
        top.empty = false;
        return this.startString('key');
      case 'colon':
        if (c !== COLON) this.refuse('not valid JSON (no colon after a key)');
        top.expect = 'value';
        return;
      case 'value':
        if (c === CLOSE_ARRAY && top.array && top.empty) return this.close();
        top.empty = false;
        return this.value(c, top);
      case 'comma':
        if (c === COMMA) top.expect = top.array ? 'value' : 'key';
        else if (c === (top.array ? CLOSE_ARRAY : CLOSE_OBJECT)) this.close();
        else this.refuse('not valid JSON (no comma between values)');
    }
  }

  /** A value starts in `top`: in an object, the value of `top.key`. */
  private value(c: number, top: Level): void {
    const depth = this.stack.length;
    const key = top.array ? undefined : top.key;
    const format = depth === 1 && key === 'format';
    const files = depth === 1 && key === 'files';
    const entry = depth === 2 && this.inFiles(top);
    const sha256 = depth === 3 && key === 'sha256' && this.inFiles(this.stack[1]!);
    if (format && c !== QUOTE) this.refuse(`format is not ${this.format}`);
    if (files && c !== OPEN_ARRAY) this.refuse('"files" is not a list');
    if (entry && c !== OPEN_OBJECT) this.refuse(`file #${this.entries} is not an object`);
    if (sha256 && c !== QUOTE) this.refuse(`file #${this.entries - 1} has a bad "sha256"`);
    if (files) this.sawFiles = true;
    if (entry) this.entries++;
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) return this.open(c === OPEN_ARRAY);
    if (c === QUOTE) return this.startString(format ? 'format' : sha256 ? 'sha256' : undefined);
    this.atom = [c];
  }

  private open(array: boolean): void {
    this.stack.push({ array, expect: array ? 'value' : 'key', empty: true, key: undefined, named: false });
  }

  private close(): void {
    const level = this.stack.pop()!;
    const parent = this.stack.at(-1);
    if (parent && this.stack.length === 2 && this.inFiles(parent) && !level.named)
      this.refuse(`file #${this.entries - 1} has no "sha256"`);
    if (parent) parent.expect = 'comma';
    else this.ended = true;
  }

  /** Whether `level` (at depth 2) is the document's "files" list. */
  private inFiles(level: Level): boolean {
    return level.array && this.stack[0]!.key === 'files';
  }

  private startString(capture: Capture): void {
    this.string = { capture, bytes: [], escaped: false };
  }

  private stringEnded({ capture, bytes }: { capture: Capture; bytes: number[] }, found: string[]): void {
    const top = this.stack.at(-1)!;
    if (capture === 'key') {
      top.key = this.decode(bytes, KEY_BYTES);
      top.expect = 'colon';
      return;
    }
    top.expect = 'comma';
    if (capture === 'format') {
      if (this.decode(bytes, VALUE_BYTES) !== this.format) this.refuse(`format is not ${this.format}`);
      this.sawFormat = true;
    } else if (capture === 'sha256') {
      const sha = this.decode(bytes, VALUE_BYTES);
      if (sha === undefined || !SHA256_HEX.test(sha)) this.refuse(`file #${this.entries - 1} has a bad "sha256"`);
      top.named = true;
      found.push(sha);
    }
  }

  private atomEnded(): void {
    const text = Buffer.from(this.atom!).toString('latin1');
    this.atom = undefined;
    if (!ATOM.test(text)) this.refuse('not valid JSON (a bad number or literal)');
    this.stack.at(-1)!.expect = 'comma';
  }

  /** A string's value (escapes decoded as JSON.parse does); undefined past `limit` raw bytes. */
  private decode(bytes: number[], limit: number): string | undefined {
    if (bytes.length > limit) return undefined;
    const raw = Buffer.from(bytes).toString('utf8');
    if (!raw.includes('\\')) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return this.refuse('not valid JSON (a bad escape)');
    }
  }

  private refuse(what: string): never {
    return refuse(this.key, what);
  }
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDelimiter = (c: number): boolean => c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c);

/**
 * Scans a bucket document for the sha256s its files name, handing them to `add` as they come; a
 * body that breaks off is read again from the start (what the broken read found is kept: naming a
 * blob twice is harmless). false when no object has the key.
 */
export async function scanFileShas(
  backend: StorageBackend,
  key: string,
  format: string,
  add: (shas: string[]) => void,
): Promise<boolean> {
  try {
    await readAgainWhileBroken(async () => {
      const scanner = new FileShaScanner(key, format);
      for await (const chunk of await backend.get(key)) add(scanner.push(chunk as Buffer));
      scanner.end();
    });
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}
