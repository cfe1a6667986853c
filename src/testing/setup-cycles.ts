/**
 * The lifecycle check: a plugin starts and stops through a real registry twice in a row (setup is
 * repeatable, e.g. after a restart in the same process), its teardown may run twice without harm, and
 * afterwards nothing it opened is left behind: no timer, socket, server or child process.
 */
import assert from 'node:assert/strict';

import type { HbiPlugin, PluginContext, PluginServices } from '../core/plugins/define-plugin.js';
import { PluginRegistry } from '../core/plugins/registry.js';

/** Resource types (process.getActiveResourcesInfo) that a forgotten teardown leaves behind. */
const WATCHED = new Set([
  'Timeout', 'Immediate', 'TCPServerWrap', 'TCPSocketWrap', 'TCPWrap', 'UDPWrap', 'PipeWrap',
  'ProcessWrap', 'SignalWrap', 'FSEventWrap', 'StatWatcher',
]); // prettier-ignore

/** How long released resources get to disappear (sockets close asynchronously). */
const SETTLE_MS = 500;

/** Throws (node:assert) naming what the plugin's setup/teardown does wrong. */
export async function checkSetupCycles(
  plugin: HbiPlugin,
  services: PluginServices,
  config: Readonly<Record<string, unknown>>,
): Promise<void> {
  const before = openResources();
  let context: PluginContext | undefined;
  for (const round of [1, 2]) {
    const registry = new PluginRegistry().register(plugin);
    await registry
      .start(services, { [plugin.name]: config })
      .catch((error: unknown) =>
        assert.fail(`setup failed in round ${round}: ${String((error as Error)?.message ?? error)}`),
      );
    context = registry.context(plugin.name);
    await registry
      .stop()
      .catch((error: unknown) =>
        assert.fail(`teardown failed in round ${round}: ${String((error as Error)?.message ?? error)}`),
      );
  }
  const teardown = context && (await plugin.setup?.(context));
  if (typeof teardown === 'function') {
    await teardown();
    await (async () => teardown())().catch((error: unknown) =>
      assert.fail(`a second call of the teardown threw: ${String((error as Error)?.message ?? error)}`),
    );
  }
  const deadline = Date.now() + SETTLE_MS;
  let leaked = leakedSince(before);
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    leaked = leakedSince(before);
  }
  assert.deepEqual(leaked, [], `left open after teardown: ${leaked.join(', ')}`);
}

function openResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo())
    if (WATCHED.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

function leakedSince(before: Map<string, number>): string[] {
  return [...openResources()]
    .filter(([type, count]) => count > (before.get(type) ?? 0))
    .map(([type, count]) => `${count - (before.get(type) ?? 0)} ${type}`);
}
