/** Seeded uniform numbers in [0, 1) (mulberry32), so a test's random cases are the same on every run. */
export { seededUniform } from '../examples/seeded-random.js';
