// Every example activity, for the one worker that `npm start` runs.
export * from './hello/activities.js';
export * from './order/activities.js';
export * from './approval/activities.js';
export * from './saga/activities.js';
export * from './batch/activities.js';
export * from './entity/activities.js';
