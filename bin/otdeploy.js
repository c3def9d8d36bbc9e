#!/usr/bin/env node
// Entry point for the `otdeploy` command (credentials, TLS material, nats-server configs, streams). The sources are
// TypeScript run through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { runOtdeploy } = await import(new URL('../deploy/otdeploy.ts', import.meta.url).href);
process.exitCode = await runOtdeploy(process.argv.slice(2));
