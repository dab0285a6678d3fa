// Worker-thread bootstrap: worker threads do not get the parent's tsx hooks from `--import`, so
// register tsx here and then load the TypeScript worker (load-worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
