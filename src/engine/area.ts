import type { Area } from '../area.js';

export const engineArea: Area = {
  name: 'engine',
  setup() {},
};
