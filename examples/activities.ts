// Every example activity, for the one worker that `npm start` runs.
export * from './hello/activities.js';
export * from './order/activities.js';
