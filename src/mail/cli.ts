import type { Command } from 'commander';

/** `mailvault import` and `mailvault export` (mail area). */
export function registerMailCommands(_program: Command): void {}
