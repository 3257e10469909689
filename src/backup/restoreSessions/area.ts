import type { Area } from '../../area.js';

export const restoreSessionsArea: Area = {
  name: 'restoreSessions',
  setup() {},
};
