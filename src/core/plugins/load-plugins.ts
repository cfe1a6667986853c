/**
 * Builds the registry from an explicit list: the built-ins first, then each package name or path from
 * HBI_PLUGINS. A path may name a module file or a package folder (its package.json `exports` "." or
 * `main` entry is loaded). An external module must export its plugin as `default` or as `plugin`.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { HbiError } from '../errors.js';
import { isPlugin } from './define-plugin.js';
import type { HbiPlugin } from './define-plugin.js';
import { PluginRegistry } from './registry.js';

export interface LoadPluginsOptions {
  builtins: readonly HbiPlugin[];
  /** Package names (`@acme/hbi-moments`) or paths (`./plugins/moments/dist/index.js`, `./plugins/moments`), from config. */
  external: readonly string[];
  /** Paths are resolved against this folder (the working directory by default). */
  baseDir?: string;
  /** Replaceable for tests; defaults to dynamic `import()`. */
  importModule?: (specifier: string) => Promise<unknown>;
}

/** Loads every plugin and registers it; throws PLUGIN_INVALID naming the specifier that failed. */
export async function loadPlugins(options: LoadPluginsOptions): Promise<PluginRegistry> {
  const registry = new PluginRegistry();
  for (const plugin of options.builtins) registry.register(plugin);
  const importModule = options.importModule ?? ((specifier: string) => import(specifier) as Promise<unknown>);
  for (const specifier of options.external) {
    let loaded: unknown;
    try {
      const target = isPath(specifier)
        ? pathToFileURL(await moduleFile(path.resolve(options.baseDir ?? process.cwd(), specifier))).href
        : specifier;
      loaded = await importModule(target);
    } catch (error) {
      throw new HbiError(
        'PLUGIN_INVALID',
        `Cannot load plugin "${specifier}": ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
          details: { specifier },
        },
      );
    }
    const exported = pickPlugin(loaded);
    if (!exported) {
      throw new HbiError(
        'PLUGIN_INVALID',
        `Module "${specifier}" exports no plugin: export the result of definePlugin({...}) as default or as "plugin"`,
        { details: { specifier } },
      );
    }
    registry.register(exported);
  }
  return registry;
}

/** A file as it is; a package folder as the file its package.json names (`exports` ".", else `main`, else index.js). */
async function moduleFile(target: string): Promise<string> {
  if (!(await stat(target).catch(() => undefined))?.isDirectory()) return target;
  const manifest = JSON.parse(await readFile(path.join(target, 'package.json'), 'utf8')) as {
    exports?: unknown;
    main?: unknown;
  };
  const root =
    isRecord(manifest.exports) && '.' in manifest.exports ? manifest.exports['.'] : manifest.exports;
  const entry = [
    root,
    isRecord(root) ? root.import : undefined,
    isRecord(root) ? root.default : undefined,
    manifest.main,
  ].find((candidate): candidate is string => typeof candidate === 'string');
  return path.join(target, entry ?? 'index.js');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || path.isAbsolute(specifier);
}

function pickPlugin(module: unknown): HbiPlugin | undefined {
  if (typeof module !== 'object' || module === null) return undefined;
  const record = module as Record<string, unknown>;
  return [record.default, record.plugin].find(isPlugin);
}
