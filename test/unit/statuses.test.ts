/**
 * The status columns' values are the contract's: each list in src/graph/statuses.ts holds exactly the
 * members of its CSDL enum (in v1.0 or beta) that Mailvault stores. Starts no server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_ENUMS } from '../../src/graph/statuses.js';
import { model } from '../../src/graph/model.js';
import { POLICY, RULE, SERVICE_APP, SERVICE_STATUS, UNIT, BULK_JOB, transition, type Machine } from '../../src/backup/protection/machines.js';
import { ARTIFACT, BULK_REQUEST, SESSION } from '../../src/backup/restoreSessions/states.js';

/** Members never stored: the evolvable sentinel, and `unknown` (a bulk job or request is never stored as it). */
const NEVER_STORED = new Set(['unknownFutureValue', 'unknown']);
/** Policy states of beta's offboarding that Mailvault does not model (its units are offboarded instead). */
const NOT_MODELLED = new Set(['protectionPolicyStatus.offboardRequested', 'protectionPolicyStatus.offboarded', 'protectionRuleStatus.draft']);

test('every status list is its CSDL enum, less the members never stored', () => {
  for (const [name, stored] of Object.entries(STATUS_ENUMS)) {
    const members = new Set((['v1.0', 'beta'] as const).flatMap((v) => model(v).enums.get(name)?.members.map((m) => m.name) ?? []));
    assert.ok(members.size > 0, `${name} is in the CSDL`);
    for (const s of stored) assert.ok(members.has(s), `${name}.${s} is a member of the CSDL enum`);
    const expected = [...members].filter((m) => !NEVER_STORED.has(m) && !NOT_MODELLED.has(`${name}.${m}`));
    assert.deepEqual([...stored].sort(), expected.sort(), name);
  }
});

test('every transition table has a row for each of its statuses and leads only to statuses of its enum', () => {
  const machines: Array<[string, Machine<string, string>]> = [
    ['backupServiceStatus', SERVICE_STATUS],
    ['serviceAppStatus', SERVICE_APP],
    ['protectionPolicyStatus', POLICY],
    ['protectionUnitStatus', UNIT],
    ['protectionRuleStatus', RULE],
    ['protectionUnitsBulkJobStatus', BULK_JOB],
    ['restoreSessionStatus', SESSION],
    ['artifactRestoreStatus', ARTIFACT],
    ['restoreArtifactsBulkRequestStatus', BULK_REQUEST],
  ];
  for (const [name, machine] of machines) {
    assert.deepEqual(Object.keys(machine).sort(), [...STATUS_ENUMS[name]].sort(), name);
    for (const row of Object.values(machine)) for (const to of Object.values(row)) assert.ok(to === 'deleted' || STATUS_ENUMS[name].includes(to!), `${name} → ${to}`);
  }
});

test('a refused event answers undefined; an allowed one the next status', () => {
  assert.equal(transition(SERVICE_APP, 'inactive', 'activateEffective'), 'active');
  assert.equal(transition(SERVICE_APP, 'active', 'activate'), undefined);
  assert.equal(transition(POLICY, 'inactive', 'delete'), 'deleted');
  assert.equal(transition(UNIT, 'offboarded', 'protect'), undefined);
  assert.equal(transition(ARTIFACT, 'scheduled', 'fail'), 'failed');
  assert.equal(transition(SESSION, 'completed', 'fail'), undefined);
});
