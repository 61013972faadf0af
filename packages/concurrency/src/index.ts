export { eachWithConcurrency } from './each-with-concurrency.ts';
export { mapWithConcurrency } from './map-with-concurrency.ts';
