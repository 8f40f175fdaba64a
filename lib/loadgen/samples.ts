/**
 * The sample library side of the loadgen: normalizes an array or a `{ count, get }` object into one shape, and
 * picks which sample index each query slot gets.
 */
import { describeValue } from './describe.js';
import type { Rng } from './poisson.js';
import type { SampleLibrary, SampleOrder, SampleSource } from './types.js';

/** Checks a sample library and returns it as a {@link SampleSource}. `path` names the option in error messages. */
export function toSampleSource<S>(library: SampleLibrary<S>, path: string): SampleSource<S> {
  if (Array.isArray(library)) {
    const array = library as readonly S[];
    if (array.length === 0) throw new RangeError(`${path} must hold at least one sample, got an empty array`);
    return { count: array.length, get: (i) => array[i] as S };
  }
  if (typeof library !== 'object' || library === null) {
    throw new TypeError(`${path} must be an array or an object with count and get(index), got ${describeValue(library)}`);
  }
  const source = library as SampleSource<S>;
  const count: unknown = source.count;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    const message = `${path}.count must be a positive integer, got ${describeValue(count)}`;
    throw typeof count === 'number' ? new RangeError(message) : new TypeError(message);
  }
  if (typeof source.get !== 'function') {
    throw new TypeError(`${path}.get must be a function, got ${describeValue(source.get)}`);
  }
  return source;
}

/** Chooses sample indices for queries: uniformly at random from a seeded {@link Rng}, or round-robin from 0. */
export class SampleSelector {
  private cursor = 0;

  /**
   * @param count the library's sample count.
   * @param order `'random'` (uniform, with replacement) or `'sequential'` (0, 1, …, count − 1, 0, …).
   * @param rng the random source for `'random'`.
   */
  constructor(
    private readonly count: number,
    private readonly order: SampleOrder,
    private readonly rng: Rng,
  ) {}

  /** The next sample index. */
  next(): number {
    if (this.order === 'sequential') {
      const i = this.cursor;
      this.cursor = i + 1 === this.count ? 0 : i + 1;
      return i;
    }
    return Math.floor(this.rng.nextFloat() * this.count);
  }
}
