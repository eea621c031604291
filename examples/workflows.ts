// Every example workflow, for the one worker that `npm start` runs.
export { hello } from './hello/workflows.js';
export { order } from './order/workflows.js';
