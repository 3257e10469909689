/** Worker thread of SummaryPool: summarizes MIME messages off the main thread. */
import { parentPort } from 'node:worker_threads';
import { summarizeMime } from './mime.js';

parentPort!.on('message', async (job: { id: number; messages: Uint8Array[] }) => {
  const results = await Promise.all(
    job.messages.map((m) => summarizeMime(Buffer.from(m.buffer, m.byteOffset, m.byteLength)).catch((e: Error) => ({ error: e.message }))),
  );
  parentPort!.postMessage({ id: job.id, results });
});
