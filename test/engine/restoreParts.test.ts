/** The restore engine's pure parts: folder names, deterministic copy ids, pacing, and the diff's verdicts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { folderCopyId, freeName, messageCopyId, restoredFolderName, restoredRootId } from '../../src/engine/restore/names.js';
import { pace, REALISTIC_ITEMS_PER_MINUTE } from '../../src/engine/restore/pacing.js';
import { judge } from '../../src/engine/restore/diff.js';
import type { SourceRow } from '../../src/engine/restore/source.js';

test('restored folder names: YYYY-DD-MM for full restores, YYYY-MM-DD for granular ones, in UTC, zero-padded', () => {
  const at = new Date('2026-03-04T05:06:59.999Z');
  assert.equal(restoredFolderName('mailbox', at), 'Restored Items 2026-04-03, 05:06');
  assert.equal(restoredFolderName('granular', at), 'Recovered Items 2026-03-04, 05:06');
  assert.equal(freeName('Restored Items 2026-04-03, 05:06', new Set(['Inbox'])), 'Restored Items 2026-04-03, 05:06');
  assert.equal(freeName('R', new Set(['R', 'R (2)'])), 'R (3)');
});

test('copy ids are the same for the same artifact and source item, different otherwise, and look like Graph ids', () => {
  assert.equal(messageCopyId('a1', 'm1'), messageCopyId('a1', 'm1'));
  assert.notEqual(messageCopyId('a1', 'm1'), messageCopyId('a2', 'm1'));
  assert.notEqual(messageCopyId('a1', 'm1'), messageCopyId('a1', 'm2'));
  assert.notEqual(folderCopyId('a1', 'f1'), restoredRootId('a1'));
  assert.match(messageCopyId('a1', 'm1'), /^AAMkAGI2[A-Za-z0-9_-]+$/);
  assert.match(folderCopyId('a1', 'f1'), /^AQMkADAw[A-Za-z0-9_-]+$/);
});

test('pacing: unlimited when instant; 250 items a minute from the start when realistic, with the time of the next item', () => {
  const start = '2026-01-01T00:00:00.000Z';
  const at = (ms: number) => new Date(Date.parse(start) + ms);
  assert.equal(pace('instant', start, 1e9, at(0)).allowance, Infinity);
  assert.equal(REALISTIC_ITEMS_PER_MINUTE, 250);
  assert.deepEqual(pace('realistic', start, 0, at(60_000)), { allowance: 250 });
  assert.deepEqual(pace('realistic', start, 200, at(60_000)), { allowance: 50 });
  const waiting = pace('realistic', start, 250, at(60_000));
  assert.equal(waiting.allowance, 0);
  assert.equal(waiting.nextAt!.getTime(), at(60_240).getTime(), 'the 251st item is due 240 ms later');
});

const row = (o: Partial<SourceRow>): SourceRow => ({
  item_id: 'i1',
  state: 'compare',
  folder_id: 'f1',
  mime_sha256: 'h1',
  props_seq: 7,
  props: JSON.stringify({ subject: 'S', isRead: false, changeKey: 'old', lastModifiedDateTime: '2020-01-01T00:00:00Z', parentFolderId: 'f1' }),
  live_props: JSON.stringify({ isRead: false, subject: 'S' }),
  ...o,
});

test('the diff: gone → deleted, any difference → modified, equal in another key order → unchanged, unusable versions → bad', () => {
  assert.deepEqual(judge(row({ state: 'absent', props: null, live_props: null })), { skip: 'absent' });
  assert.deepEqual(judge(row({ state: 'unchanged', props: null, live_props: null })), { skip: 'unchanged' });
  assert.deepEqual(judge(row({})), { skip: 'unchanged' }, 'changeKey, lastModifiedDateTime and parentFolderId do not count');
  const deleted = judge(row({ state: 'deleted', props: null, live_props: null }));
  assert.deepEqual(deleted, { restore: { itemId: 'i1', change: 'deleted', folderId: 'f1', propsSeq: 7, mimeSha256: 'h1' } });
  for (const changed of [{ state: 'modified' as const, props: null, live_props: null }, { live_props: JSON.stringify({ subject: 'S', isRead: true }) }]) {
    const v = judge(row(changed));
    assert.ok('restore' in v && v.restore.change === 'modified', JSON.stringify(changed));
  }
  assert.deepEqual(judge(row({ state: 'nocontent' })), { bad: 'The content of the item is no longer stored.' });
  assert.deepEqual(judge(row({ state: 'unreadable' })), { bad: 'The captured version of the item is not readable.' });
  assert.deepEqual(judge(row({ state: 'incomplete' })), { bad: 'The captured version of the item is incomplete.' });
  const unreadableLive = judge(row({ live_props: '{not json' }));
  assert.ok('restore' in unreadableLive && unreadableLive.restore.change === 'modified', 'an unreadable live item is overwritten');
});
