// Entry of the SQLite writer worker: registers the TypeScript loader (tsx) in this thread — hooks registered by the
// parent with `register()` do not reach worker threads — and loads the writer itself.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
