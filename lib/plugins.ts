/**
 * The plugin registry as JS sees it. Plugins are native layers registered by name and version (TensorRT's
 * plugin creators); add one to a network with `network.addPlugin(name, inputs, attributes)`.
 */
import { addon } from './binding.js';

/** A registered plugin. */
export interface PluginInfo {
  /** The name `addPlugin` takes, e.g. 'SkipLayerNorm'. */
  name: string;
  /** The version `addPlugin` takes (`params.version`, default '1'). */
  version: string;
  description: string;
}

/** Every registered plugin, in registration order. */
export function plugins(): PluginInfo[] {
  return addon.plugins().map((p) => ({ name: p.name, version: p.version, description: p.description }));
}

/** Whether a plugin is registered under `name` (and `version`, when given). */
export function hasPlugin(name: string, version?: string): boolean {
  return addon.plugins().some((p) => p.name === name && (version === undefined || p.version === version));
}
