#!/usr/bin/env node
// Entry point for the `otlab` command (the simulated plant, docs/lab.md); TypeScript through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../lab/cli.ts', import.meta.url).href);
