import type { Area } from '../area.js';

export const mailArea: Area = {
  name: 'mail',
  setup() {},
};
