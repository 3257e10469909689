/** The demo tenant's fixed ids the restore-session tests build on (documented in the README). */
import { DEFAULT_APP_ID, DEFAULT_APP_NAME } from '../../src/identity/tokens.js';

export const SESSIONS = '/v1.0/solutions/backupRestore/exchangeRestoreSessions';
/** Restore points of Adele Vance's and Alex Wilber's mailboxes. */
export const RP1 = '1f1fccc3-a642-4f61-bf49-f37b9a888279';
export const RP2 = '1f1fccc3-a642-4f61-bf49-f37b9a888280';
/** The granular search recorded over RP1. */
export const SEARCH = 'M2UyZDAwMDAwMDMxMzkzYTMyNj';
/** createdBy / lastModifiedBy of what the default token creates. */
export const APP = { application: { id: DEFAULT_APP_ID, displayName: DEFAULT_APP_NAME } };
