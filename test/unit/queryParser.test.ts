/**
 * The granular search grammar of src/vault/query/parser.ts, parsed without a server: the tree each
 * valid expression gives (precedence, parentheses, quoting, case, each property's operators and
 * values), the limits, and a QueryError naming the position for each malformed expression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseQuery,
  usesDumpsterTime,
  QueryError,
  MAX_COMPARISONS,
  MAX_EXPRESSION_LENGTH,
  MAX_TEXT_TERMS_PER_AND,
  MESSAGE_KINDS,
  type QueryNode,
} from '../../src/vault/query/parser.js';

const subjectEq = (value: string): QueryNode => ({ kind: 'text', property: 'Subject', operator: 'eq', value });

/** Asserts that parsing throws a QueryError whose message matches, and returns it. */
function rejects(input: string, message: RegExp, tooLong = false): QueryError {
  let caught: unknown;
  try {
    parseQuery(input);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof QueryError, `${JSON.stringify(input)} throws a QueryError, not ${String(caught)}`);
  assert.match(caught.message, message, input);
  assert.equal(caught.tooLong, tooLong, `tooLong for ${input}`);
  return caught;
}

test('a single comparison is the comparison itself, not a one-child node', () => {
  assert.deepEqual(parseQuery("Subject -eq 'Quarterly report'"), subjectEq('Quarterly report'));
  assert.deepEqual(parseQuery("  (( Subject -eq 'x' ))  "), subjectEq('x'));
});

test('-and binds tighter than -or; parentheses override it', () => {
  const a = subjectEq('a');
  const b = subjectEq('b');
  const c = subjectEq('c');
  assert.deepEqual(parseQuery("Subject -eq 'a' -or Subject -eq 'b' -and Subject -eq 'c'"), { kind: 'or', children: [a, { kind: 'and', children: [b, c] }] });
  assert.deepEqual(parseQuery("Subject -eq 'a' -and Subject -eq 'b' -or Subject -eq 'c'"), { kind: 'or', children: [{ kind: 'and', children: [a, b] }, c] });
  assert.deepEqual(parseQuery("(Subject -eq 'a' -or Subject -eq 'b') -and Subject -eq 'c'"), { kind: 'and', children: [{ kind: 'or', children: [a, b] }, c] });
  assert.deepEqual(parseQuery("Subject -eq 'a' -or Subject -eq 'b' -or Subject -eq 'c'"), { kind: 'or', children: [a, b, c] });
});

test('keywords, operators and property names ignore case; blanks between tokens are free', () => {
  assert.deepEqual(parseQuery("subject -EQ 'x' -AND hasattachment -Eq 'TRUE'"), {
    kind: 'and',
    children: [subjectEq('x'), { kind: 'hasAttachment', value: true }],
  });
  assert.deepEqual(parseQuery("(Subject-eq'x')"), subjectEq('x'));
});

test("quoting: '' escapes a quote, typographic quotes are accepted, values are trimmed", () => {
  assert.deepEqual(parseQuery("Subject -eq 'it''s done'"), subjectEq("it's done"));
  assert.deepEqual(parseQuery("Subject -eq 'ends with a quote'''"), subjectEq("ends with a quote'"));
  assert.deepEqual(parseQuery('Subject -eq \u2018curly\u2019'), subjectEq('curly'));
  assert.deepEqual(parseQuery("Subject -eq '  padded  '"), subjectEq('padded'));
  assert.deepEqual(parseQuery("Subject -eq '(not -and a group)'"), subjectEq('(not -and a group)'));
});

test('-like splits the value into folded words; a trailing * is a prefix, a leading * means nothing more', () => {
  const like = (property: string, value: string, words: string[], prefix: boolean) => ({ kind: 'text', property, operator: 'like', value, words, prefix });
  assert.deepEqual(parseQuery("Sender -like 'Budget Review'"), like('Sender', 'Budget Review', ['budget', 'review'], false));
  assert.deepEqual(parseQuery("Participants -like '*Ünïcode-mail*'"), like('Participants', 'Ünïcode-mail', ['unicode', 'mail'], true));
  rejects("Subject -like 'a*b'", /'\*' is only allowed at the end of a -like value/);
  rejects("Subject -like '*'", /has no word to search for \(value at position 15\)/);
  rejects("Subject -like ' -- '", /has no word to search for/);
});

test('-eq on a text property needs a value without wildcards', () => {
  rejects("Subject -eq ''", /Subject -eq needs a non-empty value \(value at position 13\)/);
  rejects("Sender -eq '   '", /Sender -eq needs a non-empty value/);
  rejects("Participants -eq 'a*'", /Wildcards are only allowed with -like/);
});

test('HasAttachment, MessageKind and PitrDumpsterActionTriggeredTime take their own values', () => {
  assert.deepEqual(parseQuery("HasAttachment -eq 'false'"), { kind: 'hasAttachment', value: false });
  rejects("HasAttachment -eq 'yes'", /HasAttachment takes 'true' or 'false', not 'yes'/);
  for (const kind of MESSAGE_KINDS) assert.deepEqual(parseQuery(`MessageKind -eq '${kind.toUpperCase()}'`), { kind: 'messageKind', value: kind });
  rejects("MessageKind -eq 'Meeting'", /MessageKind takes one of Email, Note, Task, Contact, Calendar, not 'Meeting'/);
  assert.deepEqual(parseQuery("PitrDumpsterActionTriggeredTime -ge '{2024-09-21T08:20:00.0000000Z}'"), {
    kind: 'dumpsterTime',
    operator: 'ge',
    value: '2024-09-21T08:20:00.000Z',
  });
  assert.deepEqual(parseQuery("PitrDumpsterActionTriggeredTime -lt '2024-09-21T10:20:00+02:00'"), {
    kind: 'dumpsterTime',
    operator: 'lt',
    value: '2024-09-21T08:20:00.000Z',
  });
  for (const bad of ['{2024-02-30}', '{yesterday}', '{}', '2024-09-21T25:00:00Z']) {
    rejects(`PitrDumpsterActionTriggeredTime -eq '${bad}'`, /PitrDumpsterActionTriggeredTime needs a date/);
  }
});

test('each property allows only its operators', () => {
  rejects("Subject -gt 'x'", /The operator '-gt' cannot be used with Subject; use -eq or -like/);
  rejects("HasAttachment -like 'true'", /cannot be used with HasAttachment; use -eq\./);
  rejects("MessageKind -ne 'Email'", /cannot be used with MessageKind/);
  rejects("PitrDumpsterActionTriggeredTime -like '{2024-01-01}'", /use -eq or -gt or -ge or -lt or -le/);
});

test('malformed expressions are a QueryError naming the 1-based position', () => {
  rejects('', /The query expression is empty/);
  rejects('   \n ', /The query expression is empty/);
  rejects("Subject -eq 'x", /Unterminated value starting at position 13/);
  rejects('Subject -eq "x"', /Unexpected '"' at position 13: values are enclosed in single quotes/);
  rejects("Subject - eq 'x'", /Unexpected '-' at position 9/);
  rejects("Subject -eq 'x' ; Sender -eq 'y'", /Unexpected character ';' at position 17/);
  rejects("Size -eq '3'", /Unknown property 'Size' at position 1; the properties are Subject, Sender, Participants/);
  rejects("Subject 'x'", /Expected a comparison operator after 'Subject' at position 9, found ''x''/);
  rejects("Subject -and 'x'", /Expected a comparison operator after 'Subject' at position 9, found '-and'/);
  rejects('Subject -eq', /Expected a single-quoted value after 'Subject -eq' at position 12, found the end of the expression/);
  rejects('Subject -eq x', /Expected a single-quoted value after 'Subject -eq' at position 13, found 'x'/);
  rejects("Subject -eq 'x' -and", /Expected a property .* or '\(' at position 21, found the end of the expression/);
  rejects("-and Subject -eq 'x'", /Expected a property .* at position 1, found '-and'/);
  rejects("(Subject -eq 'x'", /Expected '\)' at position 17 to close the '\(' at position 1, found the end of the expression/);
  rejects("Subject -eq 'x')", /Unbalanced '\)' at position 16/);
  rejects('()', /Expected a property .* at position 2, found '\)'/);
  rejects("Subject -eq 'x' Sender -eq 'y'", /Expected -and, -or or the end of the expression at position 17, found 'Sender'/);
  rejects("Subject -eq 'x' -or -or Sender -eq 'y'", /found '-or'/);
});

test('non-string input is the empty-expression error, not a TypeError', () => {
  rejects(undefined as unknown as string, /The query expression is empty/);
  rejects(42 as unknown as string, /The query expression is empty/);
});

test('length and comparison limits are tooLong errors; the text-term limit is not', () => {
  const long = `Subject -eq '${'x'.repeat(MAX_EXPRESSION_LENGTH)}'`;
  rejects(long, new RegExp(`is ${long.length} characters long; at most ${MAX_EXPRESSION_LENGTH}`), true);
  const padded = `Subject -eq '${'x'.repeat(MAX_EXPRESSION_LENGTH - 14)}'`;
  assert.equal(padded.length, MAX_EXPRESSION_LENGTH);
  assert.equal(parseQuery(padded).kind, 'text');

  const senders = (n: number) => Array.from({ length: n }, (_, i) => `Sender -eq 's${i}'`).join(' -or ');
  assert.equal((parseQuery(senders(MAX_COMPARISONS)) as { children: unknown[] }).children.length, MAX_COMPARISONS);
  rejects(senders(MAX_COMPARISONS + 1), /more than 20 conditions/, true);

  const subjects = (n: number, p = 'Subject') => Array.from({ length: n }, (_, i) => `${p} -like 'w${i}'`).join(' -and ');
  assert.equal(parseQuery(subjects(MAX_TEXT_TERMS_PER_AND)).kind, 'and');
  rejects(subjects(MAX_TEXT_TERMS_PER_AND + 1), /At most 3 Subject conditions can be joined with -and \(position 1 has 4\)/);
  rejects(`Sender -eq 'a' -and (${subjects(4, 'Participants')})`, /At most 3 Participants conditions .*position 22 has 4/);
  // Each -or branch is its own conjunction, and Sender has no such limit.
  assert.equal(parseQuery(`${subjects(3)} -or ${subjects(3)}`).kind, 'or');
  assert.equal(parseQuery(subjects(6, 'Sender')).kind, 'and');
});

test(
  'more than 3 Subject conditions joined by -and are refused even when parentheses group them',
  () => {
    rejects("(Subject -like 'a' -and Subject -like 'b') -and (Subject -like 'c' -and Subject -like 'd')", /At most 3 Subject conditions/);
  },
);

test('usesDumpsterTime finds a PitrDumpsterActionTriggeredTime comparison at any depth', () => {
  assert.equal(usesDumpsterTime(parseQuery("Subject -eq 'x'")), false);
  assert.equal(usesDumpsterTime(parseQuery("Subject -eq 'x' -or (HasAttachment -eq 'true' -and MessageKind -eq 'Email')")), false);
  assert.equal(usesDumpsterTime(parseQuery("Subject -eq 'x' -or (HasAttachment -eq 'true' -and PitrDumpsterActionTriggeredTime -gt '{2024-01-01}')")), true);
});
