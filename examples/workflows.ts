// Every example workflow, for the one worker that `npm start` runs.
export { hello } from './hello/workflows.js';
export { order } from './order/workflows.js';
export { approval } from './approval/workflows.js';
export { bookTrip } from './saga/workflows.js';
export { batchParent, batchChunk } from './batch/workflows.js';
export { account } from './entity/workflows.js';
