/**
 * Keeps one entry of Node's nextTick queue alive for the life of the process.
 *
 * `process.nextTick` builds each queue entry with an object literal (async id, trigger id, callback,
 * args). The hidden classes that literal moves through are held weakly: by the entries alive at the
 * time, and by the inline caches of `nextTick` itself. A full garbage collection at a moment when no
 * entry is queued frees them; the next `nextTick` creates new ones, its inline caches see a second
 * class, turn megamorphic and stay so: from then on each `nextTick` makes three runtime calls to build
 * its entry. An HTTP request makes about ten (stream bookkeeping in `node:http`), so a server that has
 * had one unlucky full collection pays ≈ 3-4 µs of CPU more on every request (measured with
 * bench/pipeline's CPU profiles; bare Fastify forced into periodic full collections shows the same).
 * Holding one entry keeps its hidden class, and the chain of classes behind it, alive.
 *
 * The entry is taken with an async hook enabled only around one `nextTick`. Imported first by the
 * command line and by the app, before anything else has run.
 */
import { createHook } from 'node:async_hooks';

let kept: object | undefined;

const hook = createHook({
  init(_asyncId, type, _triggerAsyncId, resource) {
    if (type === 'TickObject' && kept === undefined) kept = resource;
  },
});
hook.enable();
process.nextTick(() => {});
hook.disable();

/** True once an entry is held (for tests). */
export function tickEntryHeld(): boolean {
  return kept !== undefined;
}
