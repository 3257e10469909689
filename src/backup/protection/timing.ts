/**
 * How long the asynchronous transitions of the control plane take, per timing profile.
 * `instant`: due at once, carried out by the next scheduler tick. `realistic`: Microsoft's documented
 * delays where there are some (about an hour to activate a policy), chosen values otherwise
 * (docs/differences.md lists them).
 */
import { parseIsoDuration } from '../../clock.js';

export type Delay =
  | 'policyActivation'
  | 'policyDeactivation'
  | 'unitAddition'
  | 'unitRemoval'
  | 'serviceAppDeactivation'
  | 'ruleEvaluation'
  | 'dynamicRuleRefresh'
  | 'bulkJob'
  | 'offboarding'
  | 'cancelOffboarding';

const REALISTIC: Record<Delay, string> = {
  policyActivation: 'PT1H',
  policyDeactivation: 'PT1H',
  unitAddition: 'PT1H',
  unitRemoval: 'PT1H',
  serviceAppDeactivation: 'PT1H',
  ruleEvaluation: 'PT15M',
  dynamicRuleRefresh: 'PT24H',
  bulkJob: 'PT15M',
  offboarding: 'PT24H',
  cancelOffboarding: 'PT1H',
};

/** Milliseconds from the request to the transition. */
export function delayMs(profile: 'instant' | 'realistic', delay: Delay): number {
  return profile === 'instant' ? 0 : parseIsoDuration(REALISTIC[delay])!;
}

/** ISO time `delay` after `now`. */
export function dueAfter(profile: 'instant' | 'realistic', delay: Delay, now: string): string {
  return new Date(new Date(now).getTime() + delayMs(profile, delay)).toISOString();
}

/** How long a tenant stays protectionChangeLocked before it becomes restoreLocked (R:servicestatus). */
export const RESTORE_LOCK_AFTER_MS = 30 * 86_400_000;
