/** `runScenario`: one entry point that dispatches on `options.scenario`, for CLIs and config files. */
import { checkChoice, checkObject } from './options.js';
import { runMultiStream, type MultiStreamOptions } from './scenarios/multi-stream.js';
import { runOffline, type OfflineOptions } from './scenarios/offline.js';
import { runServer, type ServerOptions } from './scenarios/server.js';
import { runSingleStream, type SingleStreamOptions } from './scenarios/single-stream.js';
import type { RunSummary } from './summary.js';
import type { Scenario } from './types.js';

/** Options of {@link runScenario}: a scenario's options plus a `scenario` tag choosing it. */
export type ScenarioOptions<S> =
  | ({ scenario: 'Offline' } & OfflineOptions<S>)
  | ({ scenario: 'Server' } & ServerOptions<S>)
  | ({ scenario: 'SingleStream' } & SingleStreamOptions<S>)
  | ({ scenario: 'MultiStream' } & MultiStreamOptions<S>);

/** Every scenario name, in MLPerf's order. */
export const SCENARIOS: readonly Scenario[] = ['SingleStream', 'MultiStream', 'Server', 'Offline'];

/**
 * Runs the scenario named by `options.scenario` (`runOffline`, `runServer`, `runSingleStream` or `runMultiStream`
 * with the remaining options).
 */
export async function runScenario<S>(options: ScenarioOptions<S>): Promise<RunSummary> {
  checkObject(options, 'options');
  const { scenario, ...rest } = options;
  switch (checkChoice(scenario, 'scenario', SCENARIOS)) {
    case 'Offline':
      return runOffline(rest as OfflineOptions<S>);
    case 'Server':
      return runServer(rest as ServerOptions<S>);
    case 'SingleStream':
      return runSingleStream(rest as SingleStreamOptions<S>);
    case 'MultiStream':
      return runMultiStream(rest as MultiStreamOptions<S>);
  }
}
