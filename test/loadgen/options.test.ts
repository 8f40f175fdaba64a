import { describe, expect, it } from 'vitest';
import {
  findPeakQps,
  runMultiStream,
  runOffline,
  runScenario,
  runServer,
  runSingleStream,
  type ScenarioOptions,
} from '../../lib/loadgen/index.js';
import { rejection } from './fakes.js';

const issue = async (): Promise<void> => {};
const samples = [0];
const server = { targetQps: 100, latencyBoundMs: 10 };

/** Runs Server with options that are valid except for `options`, and returns the rejection. */
async function invalid(options: Record<string, unknown>): Promise<Error> {
  return rejection(runServer({ issue, samples, server, ...options } as never));
}

describe('option validation', () => {
  it.each([
    [{ server: { targetQps: -3, latencyBoundMs: 10 } }, RangeError, 'server.targetQps must be a positive number, got -3'],
    [{ server: { targetQps: '100', latencyBoundMs: 10 } }, TypeError, 'server.targetQps must be a positive number, got "100"'],
    [{ server: { targetQps: Infinity, latencyBoundMs: 10 } }, RangeError, 'server.targetQps must be a positive number, got Infinity'],
    [{ server: { targetQps: 100 } }, TypeError, 'server.latencyBoundMs must be a positive number, got undefined'],
    [{ server: undefined }, TypeError, 'server must be an object, got undefined'],
    [{ server: { ...server, latencyPercentile: 1 } }, RangeError, 'server.latencyPercentile must be a number between 0 and 1 (exclusive), got 1'],
    [{ server: { ...server, maxOutstanding: 0 } }, RangeError, 'server.maxOutstanding must be a positive integer or Infinity, got 0'],
    [{ server: { ...server, maxQpsShortfall: -0.1 } }, RangeError, 'server.maxQpsShortfall must be a non-negative number, got -0.1'],
    [{ server: { ...server, targetQPS: 5 } }, TypeError, 'server.targetQPS is not a known option (did you mean server.targetQps?)'],
    [{ minDuration: 5 }, TypeError, 'minDuration is not a known option'],
    [{ issue: undefined }, TypeError, 'issue must be a function, got undefined'],
    [{ samples: [] }, RangeError, 'samples must hold at least one sample, got an empty array'],
    [{ samples: 3 }, TypeError, 'samples must be an array or an object with count and get(index), got 3'],
    [{ samples: { count: 0, get: () => 0 } }, RangeError, 'samples.count must be a positive integer, got 0'],
    [{ samples: { count: 2 } }, TypeError, 'samples.get must be a function, got undefined'],
    [{ minDurationMs: -1 }, RangeError, 'minDurationMs must be a non-negative number, got -1'],
    [{ minQueryCount: 1.5 }, RangeError, 'minQueryCount must be a positive integer, got 1.5'],
    [{ maxQueryCount: 0 }, RangeError, 'maxQueryCount must be a positive integer or Infinity, got 0'],
    [{ maxDurationMs: null }, TypeError, 'maxDurationMs must be a positive number or Infinity, got null'],
    [{ seed: 0.5 }, RangeError, 'seed must be an integer, got 0.5'],
    [{ sampleOrder: 'shuffled' }, TypeError, `sampleOrder must be one of 'random', 'sequential', got "shuffled"`],
    [{ onProgress: 'yes' }, TypeError, 'onProgress must be a function, got "yes"'],
    [{ progressIntervalMs: 0 }, RangeError, 'progressIntervalMs must be a positive number, got 0'],
    [{ signal: {} }, TypeError, 'signal must be an AbortSignal, got an object'],
  ])('rejects %j', async (patch, type, message) => {
    const error = await invalid(patch);
    expect(error).toBeInstanceOf(type);
    expect(error.message).toBe(message);
  });

  it('checks each scenario group by its own path', async () => {
    const base = { issue, samples };
    let e = await rejection(runOffline({ ...base, offline: { samplesPerQuery: 0 } }));
    expect([e.constructor, e.message]).toEqual([RangeError, 'offline.samplesPerQuery must be a positive integer, got 0']);
    e = await rejection(runOffline({ ...base, offline: { expectedQPS: 5 } as never }));
    expect(e.message).toBe('offline.expectedQPS is not a known option (did you mean offline.expectedQps?)');
    e = await rejection(runMultiStream({ ...base, multiStream: { samplesPerQuery: 2.5 } }));
    expect(e.message).toBe('multiStream.samplesPerQuery must be a positive integer, got 2.5');
    e = await rejection(runSingleStream({ ...base, singleStream: { latencyBoundMs: 0 } }));
    expect(e.message).toBe('singleStream.latencyBoundMs must be a positive number, got 0');
    e = await rejection(runSingleStream({ ...base, server } as never));
    expect(e.message).toBe('server is not a known option');
  });

  it('validates runScenario and findPeakQps options', async () => {
    let e = await rejection(runScenario({ scenario: 'Batch', issue, samples } as unknown as ScenarioOptions<number>));
    expect(e.message).toBe(`scenario must be one of 'SingleStream', 'MultiStream', 'Server', 'Offline', got "Batch"`);
    e = await rejection(findPeakQps({ issue, samples, server: { latencyBoundMs: 5 }, peak: { growth: 1 } }));
    expect([e.constructor, e.message]).toEqual([RangeError, 'peak.growth must be a number greater than 1, got 1']);
    e = await rejection(findPeakQps({ issue, samples, server: { latencyBoundMs: 5 }, peak: { maxTrials: 0 } }));
    expect(e.message).toBe('peak.maxTrials must be a positive integer, got 0');
    e = await rejection(findPeakQps({ issue, samples, server }));
    expect(e.message).toBe('server.targetQps is chosen by findPeakQps; set peak.startQps instead');
  });
});
