import type { Area } from '../../area.js';

export const protectionArea: Area = {
  name: 'protection',
  setup() {},
};
