/**
 * What the engine uses of the other areas (areas set themselves up in order; the engine comes last).
 */
import { service, type Core } from '../core.js';
import type { MailService } from '../mail/service.js';
import type { VaultService } from '../vault/service.js';
import type { RestoreSessionsService } from '../backup/restoreSessions/service.js';

export const mailOf = (core: Core): MailService => service(core, 'mail');
export const vaultOf = (core: Core): VaultService => service(core, 'vault');
export const restoreSessionsOf = (core: Core): RestoreSessionsService => service(core, 'restoreSessions');
