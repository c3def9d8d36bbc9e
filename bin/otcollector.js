#!/usr/bin/env node
// Entry point for the `otcollector` command (TypeScript through tsx's loader, no build step).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../collector/cli/main.ts', import.meta.url).href);
