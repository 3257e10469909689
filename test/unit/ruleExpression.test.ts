/**
 * Mailbox inclusion rule expressions without a server: parseMailboxExpression
 * (src/backup/protection/expression.ts) gives the group ids of a valid expression or
 * `{ ok: false, message }` naming the 0-based position, never throws; checkExpression
 * (src/backup/protection/rules.ts) turns those into the GraphErrors of rule create and update,
 * with the group limits of static and dynamic rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMailboxExpression } from '../../src/backup/protection/expression.js';
import { checkExpression, MAX_GROUPS_DYNAMIC, MAX_GROUPS_STATIC } from '../../src/backup/protection/rules.js';
import { GraphError } from '../../src/errors.js';

const G1 = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const G2 = '11111111-2222-3333-4444-555555555555';
const guid = (i: number) => `00000000-0000-0000-0000-${i.toString(16).padStart(12, '0')}`;
const expr = (ids: string[]) => `(memberOf -any (group.id -in [${ids.map((id) => `'${id}'`).join(', ')}]))`;

function invalid(text: string, message: RegExp): void {
  const parsed = parseMailboxExpression(text);
  assert.equal(parsed.ok, false, `${JSON.stringify(text)} is refused`);
  if (!parsed.ok) assert.match(parsed.message, message, text);
}

test('a valid expression gives its group ids, lower-cased, each once, in order', () => {
  assert.deepEqual(parseMailboxExpression(expr([G1])), { ok: true, groupIds: [G1] });
  assert.deepEqual(parseMailboxExpression(expr([G1.toUpperCase(), G2, G1])), { ok: true, groupIds: [G1, G2] });
});

test('keywords and operators ignore case; blanks between tokens are free', () => {
  assert.deepEqual(parseMailboxExpression(`(MEMBEROF -ANY (Group.Id -IN ['${G1}']))`), { ok: true, groupIds: [G1] });
  assert.deepEqual(parseMailboxExpression(`(memberOf-any(group.id-in['${G1}','${G2}']))`), { ok: true, groupIds: [G1, G2] });
  assert.deepEqual(parseMailboxExpression(`\n\t( memberOf  -any ( group.id -in [ '${G1}' ,\n '${G2}' ] ) )  `), { ok: true, groupIds: [G1, G2] });
});

test('each missing or wrong token is named with its 0-based position', () => {
  invalid('', /expected '\(' at the end/);
  invalid(`memberOf -any (group.id -in ['${G1}'])`, /expected '\(' at position 0/);
  invalid(`(members -any (group.id -in ['${G1}']))`, /expected 'memberOf' at position 1/);
  invalid(`(memberOf -all (group.id -in ['${G1}']))`, /expected '-any' at position 10/);
  invalid(`(memberOf -any (user.id -in ['${G1}']))`, /expected 'group.id' at position 16/);
  invalid(`(memberOf -any (group.id -eq ['${G1}']))`, /expected '-in' at position 25/);
  invalid(`(memberOf -any (group.id -in ('${G1}')))`, /expected '\[' at position 29/);
  invalid(`(memberOf -any (group.id -in ['${G1}'`, /expected '\]' at the end/);
  invalid(`(memberOf -any (group.id -in ['${G1}']`, /expected '\)' at the end/);
  invalid(`(memberOf -any (group.id -in ['${G1}']))`.slice(0, -1), /expected '\)' at the end/);
  invalid(`${expr([G1])} -or (x)`, /unexpected '-or' at position 72/);
});

test('group ids must be quoted GUIDs, and the list must not be empty or end in a comma', () => {
  invalid('(memberOf -any (group.id -in []))', /expected a quoted group id at position 30/);
  invalid(`(memberOf -any (group.id -in [${G1}]))`, /unexpected character '0' at position 30/);
  invalid(`(memberOf -any (group.id -in [abc]))`, /expected a quoted group id at position 30/);
  invalid(`(memberOf -any (group.id -in ["${G1}"]))`, /unexpected character '"' at position 30/);
  invalid(`(memberOf -any (group.id -in ['${G1}',]))`, /expected a quoted group id at position 69/);
  invalid(`(memberOf -any (group.id -in ['not-a-guid']))`, /'not-a-guid' is not a group id \(a GUID\)/);
  invalid(`(memberOf -any (group.id -in ['{${G1}}']))`, /is not a group id/);
  invalid(`(memberOf -any (group.id -in ['${G1}x']))`, /is not a group id/);
  invalid(`(memberOf -any (group.id -in ['${G1}]))`, /unterminated string at position 30/);
});

test('stray characters are refused, not thrown', () => {
  invalid(`(memberOf - any (group.id -in ['${G1}']))`, /expected an operator at position 10/);
  invalid(`(memberOf -any (group.id -in ['${G1}'])) ;`, /unexpected character ';' at position 72/);
  invalid('\u00e9', /unexpected character/);
  invalid('(((((', /expected 'memberOf' at position 1/);
});

test('checkExpression: a non-string or blank expression is InvalidRuleExpression', () => {
  for (const text of [undefined, null, 42, '', '   ', ['x']]) {
    assert.throws(
      () => checkExpression(text, true),
      (e: unknown) => e instanceof GraphError && e.status === 400 && e.code === 'InvalidRuleExpression' && /non-empty string/.test(e.message),
    );
  }
});

test("checkExpression: a malformed expression is InvalidRuleExpression quoting the parser's message and the grammar", () => {
  assert.throws(
    () => checkExpression('(memberOf -any (group.id -in []))', false),
    (e: unknown) =>
      e instanceof GraphError &&
      e.status === 400 &&
      e.code === 'InvalidRuleExpression' &&
      e.message === "The rule expression is invalid: expected a quoted group id at position 30. Expected (memberOf -any (group.id -in ['<group id>', ...])).",
  );
});

test('checkExpression: at most 3 groups for a static rule and 100 for a dynamic one (413), duplicates counted once', () => {
  const three = Array.from({ length: MAX_GROUPS_STATIC }, (_, i) => guid(i));
  assert.deepEqual(checkExpression(expr(three), false), three);
  assert.deepEqual(checkExpression(expr([...three, three[0]]), false), three);
  const limit = (n: number, dynamic: boolean) => () => checkExpression(expr(Array.from({ length: n }, (_, i) => guid(i))), dynamic);
  assert.throws(limit(MAX_GROUPS_STATIC + 1, false), (e: unknown) =>
    e instanceof GraphError && e.status === 413 && e.code === 'InvalidRuleExpressionGroupLimitExceeded' && e.message === 'The expression names 4 groups; a static rule accepts at most 3.',
  );
  assert.equal(limit(MAX_GROUPS_DYNAMIC, true)().length, MAX_GROUPS_DYNAMIC);
  assert.throws(limit(MAX_GROUPS_DYNAMIC + 1, true), (e: unknown) =>
    e instanceof GraphError && e.status === 413 && /names 101 groups; a dynamic rule accepts at most 100/.test(e.message),
  );
});
