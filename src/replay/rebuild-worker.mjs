// The entry of a rebuild worker thread (`rebuild-pool.ts`). Node 20 does not hand tsx's module
// hooks on to worker threads, so the thread registers them before it loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./rebuild-worker.ts');
