import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { SETTINGS, loadConfig, renderEnvExample } from '../../../src/core/config.js';
import { HbiError } from '../../../src/core/errors.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment (embedded adapters)', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.kafkaBrokers).toBeUndefined();
    expect(config.executionProviders).toEqual(['cpu']);
    expect(config.plugins).toEqual([]);
    expect(config.batching.video).toEqual({ maxBatchSize: 16, maxDelayMs: 5, queueLimit: 1024 });
  });

  it('is frozen all the way down', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.batching.text)).toBe(true);
    expect(Object.isFrozen(config.allowedCodecs)).toBe(true);
  });

  it('parses numbers, lists, URLs and JSON from their variables', () => {
    const config = loadConfig({
      HBI_PORT: '8080',
      HBI_EXECUTION_PROVIDERS: 'cuda, cpu',
      DATABASE_URL: 'postgres://hbi@localhost:5432/hbi',
      KAFKA_BROKERS: 'localhost:9092,localhost:9093',
      HBI_PLUGINS: './examples/plugins/moments/index.js',
      HBI_PLUGIN_CONFIG: '{"qa":{"topAnswers":3}}',
    });
    expect(config.port).toBe(8080);
    expect(config.executionProviders).toEqual(['cuda', 'cpu']);
    expect(config.databaseUrl).toBe('postgres://hbi@localhost:5432/hbi');
    expect(config.kafkaBrokers).toEqual(['localhost:9092', 'localhost:9093']);
    expect(config.plugins).toEqual(['./examples/plugins/moments/index.js']);
    expect(config.pluginConfig).toEqual({ qa: { topAnswers: 3 } });
  });

  it('applies per-graph batching overrides on top of the global limits', () => {
    const config = loadConfig({
      HBI_BATCH_MAX_SIZE: '8',
      HBI_BATCH_OVERRIDES: '{"video":{"maxBatchSize":2,"maxDelayMs":20}}',
    });
    expect(config.batching.video).toEqual({ maxBatchSize: 2, maxDelayMs: 20, queueLimit: 1024 });
    expect(config.batching.text.maxBatchSize).toBe(8);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ HBI_PORT: '' }).port).toBe(4000);
  });

  it('names every invalid variable in one CONFIG_INVALID error', () => {
    let caught: unknown;
    try {
      loadConfig({
        HBI_PORT: 'eighty',
        HBI_BATCH_OVERRIDES: '{nope',
        HBI_LOG_LEVEL: 'loud',
        DATABASE_URL: 'not a url',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HbiError);
    const error = caught as HbiError;
    expect(error.code).toBe('CONFIG_INVALID');
    for (const name of ['HBI_PORT', 'HBI_BATCH_OVERRIDES', 'HBI_LOG_LEVEL', 'DATABASE_URL']) {
      expect(error.message).toContain(name);
    }
  });

  it('rejects an overlap that is not below the window', () => {
    expect(() => loadConfig({ HBI_SEGMENT_WINDOW_MS: '1000', HBI_SEGMENT_OVERLAP_MS: '1000' })).toThrow(
      /OVERLAP/,
    );
  });

  it('rejects unknown per-graph override keys', () => {
    expect(() => loadConfig({ HBI_BATCH_OVERRIDES: '{"video":{"maxBatch":2}}' })).toThrow(
      /HBI_BATCH_OVERRIDES/,
    );
  });
});

describe('.env.example', () => {
  it('is the committed rendering of SETTINGS (regenerate with `npm run env:example`)', async () => {
    const committed = await readFile(new URL('../../../.env.example', import.meta.url), 'utf8');
    expect(committed).toBe(renderEnvExample());
  });

  it('documents every setting with a one-line doc', () => {
    for (const setting of Object.values(SETTINGS)) {
      expect(setting.doc.length, setting.env).toBeGreaterThan(10);
      expect(setting.doc).not.toContain('\n');
    }
  });
});
