/**
 * The restore state machines of spec §8.5-§8.6, one transition table each (src/stateMachine.ts), and the one derivation of a
 * session's status, counters and completion time from its artifacts' statuses.
 */

import type { ArtifactStatus, BulkRequestStatus, SessionStatus } from '../../graph/statuses.js';
import { leadsTo, type Machine } from '../../stateMachine.js';

export type { ArtifactStatus, BulkRequestStatus, SessionStatus };

/** restoreSessionStatus: draft → activating → active → completed | completedWithError | failed. */
export type SessionEvent = 'activate' | 'start' | 'complete' | 'completeWithError' | 'fail';
export const SESSION: Machine<SessionStatus, SessionEvent> = {
  draft: { activate: 'activating' },
  activating: { start: 'active', complete: 'completed', completeWithError: 'completedWithError', fail: 'failed' },
  active: { complete: 'completed', completeWithError: 'completedWithError', fail: 'failed' },
  completed: {},
  completedWithError: {},
  failed: {},
};

/**
 * artifactRestoreStatus: added → scheduling → scheduled → inProgress → succeeded | failed. An artifact
 * that cannot even start (its restore point expired, its mailbox is gone) fails from scheduling or scheduled.
 */
export type ArtifactEvent = 'schedule' | 'queue' | 'start' | 'succeed' | 'fail';
export const ARTIFACT: Machine<ArtifactStatus, ArtifactEvent> = {
  added: { schedule: 'scheduling' },
  scheduling: { queue: 'scheduled', fail: 'failed' },
  scheduled: { start: 'inProgress', fail: 'failed' },
  inProgress: { succeed: 'succeeded', fail: 'failed' },
  succeeded: {},
  failed: {},
};

/** restoreArtifactsBulkRequestStatus: active until the session is activated, then resolved. */
export type BulkRequestEvent = 'resolve' | 'resolveWithErrors';
export const BULK_REQUEST: Machine<BulkRequestStatus, BulkRequestEvent> = {
  active: { resolve: 'completed', resolveWithErrors: 'completedWithErrors' },
  completed: {},
  completedWithErrors: {},
};

/** The session's status is derived from its artifacts (deriveSession), so its changes are checked by outcome. */
export function canMoveSession(from: SessionStatus, to: SessionStatus): boolean {
  return leadsTo(SESSION, from, to);
}

export function canMoveArtifact(from: ArtifactStatus, to: ArtifactStatus): boolean {
  return leadsTo(ARTIFACT, from, to);
}

export function canMoveBulkRequest(from: BulkRequestStatus, to: BulkRequestStatus): boolean {
  return leadsTo(BULK_REQUEST, from, to);
}

/** Sessions that count against the limit of 25 concurrently active sessions per tenant. */
export const RUNNING_SESSION_STATUSES: readonly SessionStatus[] = ['activating', 'active'];
export const MAX_RUNNING_SESSIONS = 25;

/** Only a draft session may be changed, deleted or activated (403 RestoreSessionActionNotAllowed otherwise). */
export const MUTABLE_SESSION_STATUS: SessionStatus = 'draft';

/** Bulk requests may be deleted only once resolved. */
export const DELETABLE_BULK_REQUEST_STATUSES: readonly BulkRequestStatus[] = ['completed', 'completedWithErrors'];

export interface ArtifactCount {
  total: number;
  completed: number;
  inProgress: number;
  failed: number;
}

export interface SessionDerivation {
  status: SessionStatus;
  count: ArtifactCount;
  /** True when the session reached a terminal status (its completedDateTime is then set). */
  terminal: boolean;
}

/**
 * A session's status and restoreSessionArtifactCount from its artifacts' statuses (§8.6): a draft
 * stays draft; after activation it is `activating` while every artifact is scheduling/scheduled,
 * `active` once any is in progress or done while others are not, and at the end `completed` (all
 * succeeded), `failed` (all failed) or `completedWithError` (both). A session left without any
 * artifact (a bulk request that resolved nothing) ends `failed` if it carries an error, else `completed`.
 */
export function deriveSession(current: SessionStatus, byStatus: Readonly<Record<string, number>>, hasError = false): SessionDerivation {
  const n = (s: ArtifactStatus) => byStatus[s] ?? 0;
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const waiting = n('scheduling') + n('scheduled');
  const running = n('inProgress');
  const count: ArtifactCount = { total, completed: n('succeeded'), inProgress: waiting + running, failed: n('failed') };
  if (current === 'draft') return { status: 'draft', count, terminal: false };
  const done = count.completed + count.failed;
  let status: SessionStatus;
  if (total === 0) status = hasError ? 'failed' : 'completed';
  else if (done === total) status = count.failed === 0 ? 'completed' : count.completed === 0 ? 'failed' : 'completedWithError';
  else if (running > 0 || done > 0) status = 'active';
  else status = waiting > 0 ? 'activating' : current;
  // Statuses only move forward: a derivation never takes a session back.
  if (status !== current && !canMoveSession(current, status)) status = current;
  return { status, count, terminal: isTerminalSession(status) };
}

export function isTerminalSession(status: string): boolean {
  return status === 'completed' || status === 'completedWithError' || status === 'failed';
}

/** Counts statuses, for deriveSession. */
export function tally(statuses: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}
