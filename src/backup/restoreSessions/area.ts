import type { Area } from '../../area.js';
import { service } from '../../core.js';
import { RestoreSessionsService } from './service.js';
import { restoreSessionRoutes } from './routes.js';

export { RestoreSessionsService, RESTORE_ARTIFACT_JOB } from './service.js';
export { ARTIFACT_TRANSITIONS, SESSION_TRANSITIONS, BULK_REQUEST_TRANSITIONS, canMoveArtifact, canMoveSession, deriveSession } from './states.js';

/** Exchange restore sessions: `core.services.restoreSessions` is a RestoreSessionsService. */
export const restoreSessionsArea: Area = {
  name: 'restoreSessions',
  setup(core) {
    core.services.restoreSessions = new RestoreSessionsService(core);
  },
  graphRoutes(app, core) {
    restoreSessionRoutes(app, core, service(core, 'restoreSessions'));
  },
};
