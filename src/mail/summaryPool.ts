/**
 * Parses batches of MIME messages on worker threads, so that a bulk import parses the next batch
 * while the main thread writes the previous one. Falls back to the main thread when workers are
 * unavailable.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { summarizeMime, MimeError, type MimeSummary } from './mime.js';

export type SummaryResult = MimeSummary | { error: string };

export class SummaryPool {
  private workers: Worker[] = [];
  private next = 0;
  private jobs = new Map<number, { resolve: (r: SummaryResult[]) => void; reject: (e: unknown) => void }>();
  private seq = 0;

  constructor(size = Math.max(1, Math.min(4, os.availableParallelism() - 1))) {
    try {
      for (let i = 0; i < size; i++) {
        const w = newWorker();
        w.on('message', (m: { id: number; results: SummaryResult[] }) => {
          this.jobs.get(m.id)?.resolve(m.results);
          this.jobs.delete(m.id);
        });
        w.on('error', (e) => {
          for (const job of this.jobs.values()) job.reject(e);
          this.jobs.clear();
        });
        this.workers.push(w);
      }
    } catch {
      this.workers = [];
    }
  }

  /** Summaries in input order; a message that is not MIME gives `{ error }`. */
  async summarize(messages: Buffer[]): Promise<SummaryResult[]> {
    if (this.workers.length === 0) return Promise.all(messages.map((m) => summarizeMime(m).catch((e: Error) => errorOf(e))));
    const per = Math.ceil(messages.length / this.workers.length);
    const parts: Promise<SummaryResult[]>[] = [];
    for (let i = 0; i < messages.length; i += per) {
      const id = ++this.seq;
      const worker = this.workers[this.next++ % this.workers.length];
      parts.push(new Promise((resolve, reject) => this.jobs.set(id, { resolve, reject })));
      worker.postMessage({ id, messages: messages.slice(i, i + per) });
    }
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

/** Built code runs summaryWorker.js; from TypeScript sources (tsx) the worker registers tsx itself. */
function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./summaryWorker.js', import.meta.url));
  const entry = JSON.stringify(new URL('./summaryWorker.ts', import.meta.url).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${entry}); })`, { eval: true });
}

function errorOf(e: Error): { error: string } {
  if (!(e instanceof MimeError)) throw e;
  return { error: e.message };
}
