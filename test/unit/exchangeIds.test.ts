/**
 * Item ids without a server: src/mail/ids.ts (new ids, change keys, conversation ids, plausible ids)
 * and src/mail/exchangeIds.ts, where every form of an id, Mailvault's own or one a caller gave,
 * translates back to the id, and text that is not of a form yields no id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newItemId, changeKeys, conversationIdFor, newInternetMessageId, bytesFor, isPlausibleId } from '../../src/mail/ids.js';
import { EXCHANGE_ID_FORMATS, formatId, restIdCandidates } from '../../src/mail/exchangeIds.js';

test('new ids: base64url with the kind prefix, deterministic from given bytes, never GUID-like', () => {
  const fixed = bytesFor('demo:message:1');
  assert.equal(newItemId('message', fixed), newItemId('message', fixed));
  assert.notEqual(newItemId('message', fixed), newItemId('folder', fixed));
  assert.ok(newItemId('message').startsWith('AAMkAGI2'));
  assert.ok(newItemId('folder').startsWith('AQMkADAw'));
  assert.notEqual(newItemId('message'), newItemId('message'));
  for (const id of [newItemId('message'), newItemId('folder', fixed)]) {
    assert.match(id, /^[A-Za-z0-9_-]+$/);
    assert.ok(isPlausibleId(id));
  }
});

test('change keys are unique within a batch and across batches; conversation ids ignore case', () => {
  const keys = [...changeKeys(1000), ...changeKeys(1000)];
  assert.equal(new Set(keys).size, 2000);
  assert.ok(keys.every((k) => k.startsWith('CQAAABYAAA')));
  assert.deepEqual(changeKeys(0), []);
  assert.equal(conversationIdFor('<Root@Contoso.Example>'), conversationIdFor('<root@contoso.example>'));
  assert.notEqual(conversationIdFor('<a@x>'), conversationIdFor('<b@x>'));
  assert.match(conversationIdFor('<a@x>'), /^AAQkAG[A-Za-z0-9_-]{32}$/);
  assert.match(newInternetMessageId(), /^<[0-9a-f]{24}@mailvault\.local>$/);
  assert.match(newInternetMessageId('contoso.example'), /@contoso\.example>$/);
});

test('isPlausibleId: printable, 1 to 512 characters', () => {
  for (const id of ['a', 'AAMk+/=_-.:@', 'x'.repeat(512)]) assert.equal(isPlausibleId(id), true, id);
  for (const id of ['', 'x'.repeat(513), 'a b', 'a/../b?', 'a%2F', 'ä', 'a\nb']) assert.equal(isPlausibleId(id), false, JSON.stringify(id));
});

test('every form of every id translates back to the id, first candidate', () => {
  const ids = [newItemId('message'), newItemId('folder', bytesFor('f')), 'AA', 'abc', 'caller-given id/with+odd=chars', 'ünïcödé', 'AAMk_-x'];
  for (const id of ids) {
    for (const format of EXCHANGE_ID_FORMATS) {
      const text = formatId(id, format);
      assert.equal(restIdCandidates(text, format)[0], id, `${format} of ${JSON.stringify(id)}: ${text}`);
    }
  }
});

test('the forms look as documented: rest ids as is, EWS ids standard base64, entry ids URL-safe with a padding digit', () => {
  const id = newItemId('message', Buffer.alloc(16, 0xfb));
  assert.equal(formatId(id, 'restId'), id);
  assert.equal(formatId(id, 'restImmutableEntryId'), id);
  assert.equal(formatId(id, 'ewsId'), Buffer.from(id, 'base64url').toString('base64'));
  assert.match(formatId(id, 'ewsId'), /[+/]/);
  assert.equal(formatId('not base64url!', 'ewsId'), 'not base64url!');
  const entry = formatId(id, 'entryId');
  assert.match(entry, /^[A-Za-z0-9_-]+[012]$/);
  assert.notEqual(entry, formatId(id, 'immutableEntryId'));
  assert.deepEqual(restIdCandidates(entry, 'immutableEntryId'), [], 'an entry id is not an immutable entry id');
  assert.deepEqual(restIdCandidates(formatId(id, 'immutableEntryId'), 'entryId'), []);
});

test('an EWS id that is also a REST id gives both candidates, the decoded one first', () => {
  const id = newItemId('message', Buffer.alloc(16, 0xfb));
  const ews = formatId(id, 'ewsId');
  assert.deepEqual(restIdCandidates(ews, 'ewsId'), [id, ews]);
  assert.deepEqual(restIdCandidates('AAAA', 'ewsId'), ['AAAA'], 'decoding to the same text gives it once');
  for (const text of ['', 'abc', 'ab==cd==', 'AB=', 'AB==', 'not base64!']) {
    assert.deepEqual(restIdCandidates(text, 'ewsId'), [text], JSON.stringify(text));
  }
});

test('text that is no entry id yields no candidate', () => {
  const good = formatId(newItemId('message'), 'entryId');
  const bad = [
    '',
    '0',
    'AAAA3',
    good.slice(0, -1),
    good.slice(0, -1) + String((Number(good.slice(-1)) + 1) % 3),
    good.slice(0, -1) + '=',
    'x'.repeat(40) + '0',
    formatId(newItemId('message'), 'entryId').replace(/^./, 'B'),
    Buffer.alloc(21).toString('base64url') + '0',
  ];
  for (const text of bad) assert.deepEqual(restIdCandidates(text, 'entryId'), [], JSON.stringify(text));
});
