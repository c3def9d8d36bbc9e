#!/usr/bin/env node
// Entry point for the `otsensor` command. The sources are TypeScript run through tsx's loader (no build step);
// esbuild strips types once per module at start-up, so the packet path runs at plain-JS speed.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../sensor/cli/main.ts', import.meta.url).href);
