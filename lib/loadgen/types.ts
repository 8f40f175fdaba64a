/**
 * Public types of `inferrt/loadgen`: the system under test, the sample library, progress reports and the options
 * every scenario shares. The loadgen knows nothing about engines: anything that answers
 * `issue(samples) => Promise` can be measured.
 */

/** The four MLPerf inference scenarios. */
export type Scenario = 'Offline' | 'Server' | 'SingleStream' | 'MultiStream';

/** What the loadgen tells the system under test about one query, besides its samples. */
export interface QueryInfo {
  /** The query's sequence number in this run, from 0. */
  readonly id: number;
  /** The sample-library index of each sample in the query, in the same order as the samples. */
  readonly indices: readonly number[];
}

/**
 * The system under test (MLPerf's SUT): called once per query with the query's samples; the query is complete when
 * the returned promise settles. A rejection counts the query as failed (and the run as INVALID). A return value that
 * is not thenable counts as a query completed synchronously. The resolved value is ignored.
 */
export type SystemUnderTest<S> = (samples: readonly S[], query: QueryInfo) => PromiseLike<unknown>;

/** A sample library given as a count and an accessor (MLPerf's QSL). `get` must be cheap: it runs in the timed loop. */
export interface SampleSource<S> {
  /** How many samples the library holds; indices run from 0 to `count - 1`. */
  readonly count: number;
  /** The sample at `index`. Called synchronously, once per sample per query. */
  get(index: number): S;
}

/** A sample library: a {@link SampleSource} or simply an array of samples. */
export type SampleLibrary<S> = readonly S[] | SampleSource<S>;

/** The order in which samples are drawn from the library. */
export type SampleOrder = 'random' | 'sequential';

/** A snapshot of a run in progress, given to {@link CommonOptions.onProgress}. */
export interface Progress {
  /** The scenario being run. */
  readonly scenario: Scenario;
  /** Queries handed to the system under test so far. */
  readonly issued: number;
  /** Queries that completed successfully so far. */
  readonly completed: number;
  /** Queries that failed (rejected or threw) so far. */
  readonly failed: number;
  /** Queries issued but not yet settled. */
  readonly outstanding: number;
  /** Milliseconds since the run started. */
  readonly elapsedMs: number;
  /** `true` on the single last report, sent once every query has settled (or the run was aborted). */
  readonly done: boolean;
}

/** Options every scenario takes. Unknown keys are rejected with a message naming the key. */
export interface CommonOptions<S> {
  /** The system under test. Required. */
  issue: SystemUnderTest<S>;
  /** The samples queries are made of. Required; must hold at least one sample. */
  samples: SampleLibrary<S>;
  /**
   * The shortest valid run, in milliseconds. Default `10_000` (short enough for development; MLPerf submissions
   * use `600_000`). A run shorter than this is INVALID.
   */
  minDurationMs?: number;
  /**
   * The fewest completed queries of a valid run. Default per scenario, following MLPerf: SingleStream `1024`,
   * MultiStream `662`, Server `1024` (MLPerf submissions use `270_336`), Offline `1`.
   */
  minQueryCount?: number;
  /**
   * Stop issuing after this many queries, valid or not. Default `Infinity` (no limit). Useful for smoke tests;
   * a limit below `minQueryCount` makes the run INVALID.
   */
  maxQueryCount?: number;
  /**
   * Stop issuing once this many milliseconds of wall time have passed, valid or not. Default `Infinity` (no limit).
   * Queries already issued are still waited for.
   */
  maxDurationMs?: number;
  /** Seed of the sample-selection PRNG (and of the Server arrival schedule). Default `0x5eed`. */
  seed?: number;
  /** How samples are drawn from the library: uniformly at random (seeded) or round-robin. Default `'random'`. */
  sampleOrder?: SampleOrder;
  /** Called every `progressIntervalMs` while the run goes, and once at the end with `done: true`. Default none. */
  onProgress?: (progress: Progress) => void;
  /** How often `onProgress` is called, in milliseconds. Default `250`. */
  progressIntervalMs?: number;
  /**
   * Aborts the run: no more queries are issued, outstanding ones are not waited for, and the summary is INVALID
   * ("run was aborted"). Default none.
   */
  signal?: AbortSignal;
}
