import { Worker } from 'node:worker_threads';

/**
 * sha256 on a worker thread of what was just written to a file, for large blobs being read: the
 * main thread keeps receiving the next ranges from the network (and hands them to the disk)
 * while the worker reads back and hashes the last one, instead of the sockets waiting for each
 * hash. Hashing the bytes as the file holds them checks the write too. The file descriptor is
 * the process's, so the worker reads through the caller's open file.
 *
 * The thread's source is inline (eval), so it runs the same from dist/ and under the tests.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const hashes = new Map();
const buffer = Buffer.allocUnsafeSlow(${2 * 1024 * 1024});
parentPort.on('message', (m) => {
  try {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash('sha256')));
    if (m.length === undefined) {
      hashes.delete(m.id);
      return parentPort.postMessage({ hex: hash.digest('hex') });
    }
    for (let done = 0; done < m.length; ) {
      const n = readSync(m.fd, buffer, 0, Math.min(buffer.length, m.length - done), m.offset + done);
      if (n === 0) throw new Error('the file ends before the bytes written to it');
      hash.update(buffer.subarray(0, n));
      done += n;
    }
    parentPort.postMessage({});
  } catch (error) {
    hashes.delete(m.id);
    parentPort.postMessage({ error: String(error) });
  }
});
`;

interface Reply {
  hex?: string;
  error?: string;
}

type Waiter = { resolve: (reply: Reply) => void; reject: (error: Error) => void };

/** The process's hashing thread: started when first needed, holding the process open only while busy. */
class HashThread {
  private worker?: Worker;
  /** replies come back in the order of the requests, per hash and overall */
  private readonly waiting: Waiter[] = [];

  ask(message: { id: number; fd: number; offset?: number; length?: number }): Promise<Reply> {
    const worker = this.start();
    if (this.waiting.length === 0) worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      worker.postMessage(message);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(THREAD_SOURCE, { eval: true });
    worker.on('message', (reply: Reply) => {
      this.waiting.shift()?.resolve(reply);
      if (this.waiting.length === 0) worker.unref();
    });
    const fail = (error: Error): void => {
      this.worker = undefined;
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

const thread = new HashThread();
let nextId = 0;

/** The sha256 of one file, computed on the hashing thread from its bytes in order. */
export class FileHash {
  private readonly id = ++nextId;

  constructor(private readonly fd: number) {}

  /**
   * Hashes the file's `length` bytes at `offset` (they must be written), after those of the
   * calls before: each call hands on the bytes that follow the previous call's.
   */
  async next(offset: number, length: number): Promise<void> {
    const reply = await thread.ask({ id: this.id, fd: this.fd, offset, length });
    if (reply.error) throw new Error(`hashing failed: ${reply.error}`);
  }

  async digest(): Promise<string> {
    const reply = await thread.ask({ id: this.id, fd: this.fd });
    if (reply.error || !reply.hex) throw new Error(`hashing failed: ${reply.error}`);
    return reply.hex;
  }
}
