/**
 * Who may call what: spec §6, one row per operation. `least` is the least privileged permission;
 * `higher` are also accepted. `kinds` says whether delegated (D) and/or application (A) tokens may call.
 */
export interface PermissionRule {
  least: string;
  higher: string[];
  kinds: 'DA' | 'D' | 'A';
}

const R = (least: string, higher: string[] = [], kinds: PermissionRule['kinds'] = 'DA'): PermissionRule => ({ least, higher, kinds });

const CONTROL_R = 'BackupRestore-Control.Read.All';
const CONTROL_RW = 'BackupRestore-Control.ReadWrite.All';
const CONFIG_R = 'BackupRestore-Configuration.Read.All';
const CONFIG_RW = 'BackupRestore-Configuration.ReadWrite.All';
const RESTORE_R = 'BackupRestore-Restore.Read.All';
const RESTORE_RW = 'BackupRestore-Restore.ReadWrite.All';
const SEARCH_R = 'BackupRestore-Search.Read.All';

export const PERMISSIONS = {
  // Service (§6 rows 1-6)
  'backupRestore.get': R(CONTROL_R, [CONTROL_RW]),
  'backupRestore.enable': R(CONTROL_RW),
  'serviceApps.read': R(CONTROL_R, [CONTROL_RW]),
  'serviceApps.write': R(CONTROL_RW),
  'serviceApps.activation': R(CONTROL_RW, [], 'D'),
  'emailNotificationsSetting.get': R(CONTROL_RW),
  'emailNotificationsSetting.update': R(CONTROL_RW, [], 'D'),
  // Policies
  'policies.read': R(CONFIG_R, [CONFIG_RW]),
  'policies.write': R(CONFIG_RW),
  // Rules
  'rules.read': R(CONFIG_R, [CONFIG_RW]),
  'rules.write': R(CONFIG_RW),
  // Units
  'units.read': R(CONFIG_R, [CONFIG_RW]),
  'units.offboard': R(CONFIG_RW, [], 'D'),
  // Protection bulk jobs
  'bulkJobs.read': R(CONFIG_R, [CONFIG_RW]),
  'bulkJobs.write': R(CONFIG_RW),
  // Restore points
  'restorePoints.read': R(SEARCH_R),
  // Restore sessions, artifacts and bulk requests
  'restoreSessions.read': R(RESTORE_R, [RESTORE_RW]),
  'restoreSessions.write': R(RESTORE_RW),
  // Directory and mail (Microsoft Graph's own permissions)
  'users.read': R('User.Read.All', ['User.ReadWrite.All']),
  'users.write': R('User.ReadWrite.All'),
  'groups.read': R('Group.Read.All', ['Group.ReadWrite.All', 'GroupMember.ReadWrite.All']),
  'groups.write': R('Group.ReadWrite.All'),
  'groupMembers.write': R('GroupMember.ReadWrite.All', ['Group.ReadWrite.All']),
  'mail.read': R('Mail.Read', ['Mail.ReadWrite']),
  'mail.write': R('Mail.ReadWrite'),
  'mail.translateIds': R('User.ReadBasic.All', ['User.Read', 'User.ReadWrite', 'User.Read.All', 'User.ReadWrite.All']),
} satisfies Record<string, PermissionRule>;

export type Operation = keyof typeof PERMISSIONS;

/** The Microsoft Graph PowerShell client's application id. */
export const GRAPH_POWERSHELL_APP_ID = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

/** What Microsoft refuses to the PowerShell client (spec §9.1: 403 `Forbidden`). */
export const REFUSED_TO_POWERSHELL: ReadonlySet<Operation> = new Set<Operation>(['backupRestore.get', 'backupRestore.enable', 'serviceApps.write']);

/** Every permission the server knows: what a default token holds. */
export const ALL_PERMISSIONS: string[] = [
  ...new Set(Object.values(PERMISSIONS).flatMap((r: PermissionRule) => [r.least, ...r.higher])),
].sort();

export const BACKUP_RESTORE_PERMISSIONS = ALL_PERMISSIONS.filter((p) => p.startsWith('BackupRestore-'));
