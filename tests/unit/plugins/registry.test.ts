import { fileURLToPath } from 'node:url';

import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import type { HbiError } from '../../../src/core/errors.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { definePlugin, defineTask } from '../../../src/core/plugins/define-plugin.js';
import { loadPlugins } from '../../../src/core/plugins/load-plugins.js';
import { PluginRegistry } from '../../../src/core/plugins/registry.js';
import { fakeScoping, fakeServices } from '../../helpers/fake-services.js';

const TENANT = '00000000-0000-4000-8000-000000000001';

const fixtures = fileURLToPath(new URL('../../fixtures/plugins/', import.meta.url));

const qa = definePlugin({
  name: 'qa',
  version: '1.0.0',
  requiredGraphs: ['text', 'qa'],
  tasks: [
    defineTask({
      kind: 'qa.answer',
      handle: async (batch) => batch.map(() => ({ ok: true as const, value: 'yes' })),
    }),
  ],
});

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<HbiError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error as HbiError;
  }
  throw new Error('expected a rejection');
}

describe('PluginRegistry.register', () => {
  it('treats the same object twice as a no-op', () => {
    const registry = new PluginRegistry().register(qa).register(qa);
    expect(registry.plugins).toEqual([qa]);
  });

  it('rejects a different plugin under a taken name', async () => {
    const impostor = definePlugin({ name: 'qa', version: '2.0.0' });
    const error = await rejection(() => new PluginRegistry().register(qa).register(impostor));
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toContain('Duplicate plugin name "qa"');
  });

  it('rejects a task kind that another plugin already handles', async () => {
    const thief = definePlugin({
      name: 'qa-two',
      version: '1.0.0',
      tasks: [qa.tasks![0]!],
    });
    const error = await rejection(() => new PluginRegistry().register(qa).register(thief));
    expect(error.message).toContain('"qa.answer"');
  });

  it('refuses objects not made by definePlugin', async () => {
    expect((await rejection(() => new PluginRegistry().register({ name: 'x' }))).code).toBe('PLUGIN_INVALID');
  });
});

describe('PluginRegistry.checkRequiredGraphs', () => {
  it('passes when the package has every graph', () => {
    expect(() =>
      new PluginRegistry().register(qa).checkRequiredGraphs(['video', 'text', 'qa']),
    ).not.toThrow();
  });

  it('fails fast naming each plugin and missing graph', async () => {
    const error = await rejection(() =>
      new PluginRegistry().register(qa).checkRequiredGraphs(['video', 'text']),
    );
    expect(error.code).toBe('MODEL_GRAPH_MISSING');
    expect(error.message).toContain('qa needs "qa"');
  });
});

describe('PluginRegistry lifecycle', () => {
  it('runs setups in order, hands each its validated config, and tears down in reverse', async () => {
    const calls: string[] = [];
    const make = (name: string) =>
      definePlugin({
        name,
        version: '1.0.0',
        configSchema: z.object({ greeting: z.string().default('hi') }),
        setup: (context) => {
          calls.push(`setup ${name} ${context.config.greeting}`);
          return () => {
            calls.push(`teardown ${name}`);
          };
        },
      });
    const registry = new PluginRegistry().register(make('first')).register(make('second'));
    await registry.start(fakeServices(), { second: { greeting: 'hello' } });
    expect(registry.state.phase).toBe('started');
    await registry.stop();
    expect(registry.state.phase).toBe('stopped');
    expect(calls).toEqual(['setup first hi', 'setup second hello', 'teardown second', 'teardown first']);
  });

  it('gives each plugin a logger bound to its name', async () => {
    const logger = createMemoryLogger();
    const plugin = definePlugin({
      name: 'talker',
      version: '1.0.0',
      setup: (context) => context.logger.info('up'),
    });
    await new PluginRegistry().register(plugin).start(fakeServices(logger));
    expect(logger.records).toContainEqual({ level: 'info', message: 'up', fields: { plugin: 'talker' } });
  });

  it('rejects invalid plugin config before any setup runs', async () => {
    const setup = vi.fn();
    const plugin = definePlugin({
      name: 'strict',
      version: '1.0.0',
      configSchema: z.object({ topK: z.number() }),
      setup,
    });
    const registry = new PluginRegistry().register(plugin);
    const error = await rejection(registry.start(fakeServices(), { strict: { topK: 'ten' } }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('strict');
    expect(error.message).toContain('topK');
    expect(setup).not.toHaveBeenCalled();
    expect(registry.state.phase).toBe('failed');
  });

  it('tears down already-started plugins when a later setup fails', async () => {
    const teardown = vi.fn();
    const good = definePlugin({ name: 'good', version: '1.0.0', setup: () => teardown });
    const bad = definePlugin({
      name: 'bad',
      version: '1.0.0',
      setup: () => {
        throw new Error('cannot connect');
      },
    });
    const registry = new PluginRegistry().register(good).register(bad);
    const error = await rejection(registry.start(fakeServices()));
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toContain('"bad" failed to set up: cannot connect');
    expect(teardown).toHaveBeenCalledOnce();
    expect(registry.state).toMatchObject({ phase: 'failed' });
  });

  it('runs every teardown even when one fails, then reports the failure', async () => {
    const second = vi.fn();
    const registry = new PluginRegistry()
      .register(definePlugin({ name: 'a', version: '1.0.0', setup: () => second }))
      .register(
        definePlugin({
          name: 'b',
          version: '1.0.0',
          setup: () => () => {
            throw new Error('stuck');
          },
        }),
      );
    await registry.start(fakeServices());
    const error = await rejection(registry.stop());
    expect(error.message).toContain('Teardown failed for b');
    expect(second).toHaveBeenCalledOnce();
  });

  it('refuses registration after start', async () => {
    const registry = new PluginRegistry();
    await registry.start(fakeServices());
    expect((await rejection(() => registry.register(qa))).message).toContain('started');
  });

  it('exposes task handlers with their plugin context once started', async () => {
    const registry = new PluginRegistry().register(qa);
    expect(registry.taskHandler('qa.answer')).toBeUndefined();
    await registry.start(fakeServices(), {}, fakeScoping());
    const found = registry.taskHandler('qa.answer')!;
    expect(found.plugin).toBe(qa);
    expect(found.context(TENANT).tenantId).toBe(TENANT);
    expect(await found.handler.handle([{ id: '1', input: undefined }], found.context(TENANT))).toEqual([
      { ok: true, value: 'yes' },
    ]);
  });
});

describe('loadPlugins', () => {
  it('registers built-ins then external plugins named by path', async () => {
    const registry = await loadPlugins({ builtins: [qa], external: ['./echo-plugin.ts'], baseDir: fixtures });
    expect(registry.plugins.map((plugin) => plugin.name)).toEqual(['qa', 'echo']);
    await registry.start(fakeServices(), { echo: { prefix: '>' } }, fakeScoping());
    const echo = registry.taskHandler('echo.say')!;
    expect(await echo.handler.handle([{ id: '1', input: 'hi' }], echo.context(TENANT))).toEqual([
      { ok: true, value: '>hi' },
    ]);
  });

  it('loads a package folder named by path through its package.json entry', async () => {
    const registry = await loadPlugins({ builtins: [], external: ['./echo-package'], baseDir: fixtures });
    expect(registry.plugins.map((plugin) => plugin.name)).toEqual(['echo']);
  });

  it('loads packages by name through the importer', async () => {
    const importer = vi.fn(async () => ({ plugin: definePlugin({ name: 'from-npm', version: '1.0.0' }) }));
    const registry = await loadPlugins({
      builtins: [],
      external: ['@acme/hbi-from-npm'],
      importModule: importer,
    });
    expect(importer).toHaveBeenCalledWith('@acme/hbi-from-npm');
    expect(registry.plugins[0]!.name).toBe('from-npm');
  });

  it('names the specifier when a module cannot be loaded', async () => {
    const error = await rejection(
      loadPlugins({ builtins: [], external: ['./missing.ts'], baseDir: fixtures }),
    );
    expect(error.code).toBe('PLUGIN_INVALID');
    expect(error.message).toContain('Cannot load plugin "./missing.ts"');
  });

  it('rejects a module that exports no plugin', async () => {
    const error = await rejection(
      loadPlugins({ builtins: [], external: ['./not-a-plugin.ts'], baseDir: fixtures }),
    );
    expect(error.message).toContain('exports no plugin');
  });
});
