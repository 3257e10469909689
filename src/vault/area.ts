import type { Area } from '../area.js';

export const vaultArea: Area = {
  name: 'vault',
  setup() {},
};
