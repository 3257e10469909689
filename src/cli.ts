#!/usr/bin/env node
/**
 * The `mailvault` command. One of Node's nextTick queue entries is taken before anything else is
 * loaded (see tickMaps.ts): loading the commands' modules alone runs full garbage collections.
 */
import './tickMaps.js';

await import('./commands.js');
