import type { Area } from '../../area.js';
import type { Core } from '../../core.js';
import { RestoreSessionsService } from './service.js';
import { restoreSessionRoutes } from './routes.js';
import type { SessionsUses } from './ports.js';

export { RestoreSessionsService, RESTORE_ARTIFACT_JOB } from './service.js';
export type { RestoreJobs, SessionsUses } from './ports.js';
export { ARTIFACT, SESSION, BULK_REQUEST, canMoveArtifact, canMoveSession, deriveSession } from './states.js';

/** Exchange restore sessions, their artifacts and bulk requests. */
export function restoreSessionsArea(core: Core, uses: SessionsUses): Area<RestoreSessionsService> {
  const service = new RestoreSessionsService(core, uses);
  // A restore that has begun reads its point's versions (and its search's hits) to the end, even if
  // the point expires meanwhile: the vault's collection keeps them until it is done.
  uses.vault.holdRetention(async () => {
    const running = await core.store.db.selectFrom('restore_artifacts').select(['restore_point_id', 'search_response_id']).where('status', '=', 'inProgress').execute();
    return { restorePointIds: running.map((a) => a.restore_point_id), searchResponseIds: running.flatMap((a) => (a.search_response_id ? [a.search_response_id] : [])) };
  });
  return {
    name: 'restoreSessions',
    service,
    graphRoutes(app) {
      restoreSessionRoutes(app, core, service);
    },
  };
}
