/** `hbi serve`: the platform in one process (gateway and worker), until SIGINT or SIGTERM. */
import { existsSync } from 'node:fs';
import path from 'node:path';

import type { Config } from '../../core/config.js';
import { loadConfig } from '../../core/config.js';
import { ingestDemoLibrary } from '../../core/ingest/demo-library.js';
import { VideoIngestor } from '../../core/ingest/video-ingestor.js';
import type { Logger } from '../../core/logger.js';
import { createLogger } from '../../core/logger.js';
import type { Platform } from '../../core/platform.js';
import { adminKeyFile, startPlatform } from '../../core/platform.js';
import { BUILTIN_PLUGINS } from '../../plugins/builtins.js';
import type { Command } from '../args.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Start the platform: GraphQL over HTTP and WebSocket at /graphql, with the embedded defaults',
  usage: 'hbi serve',
  details:
    'Runs until SIGINT or SIGTERM, then drains requests and stops cleanly. The demo library\n' +
    '(HBI_DEMO_LIBRARY) is indexed in the background once the API serves. Settings: .env.example.',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(_args, io) {
    const config = loadConfig(io.env);
    const logger = createLogger(config.logLevel);
    const platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS });
    logger.info('hbi is up', { url: platform.gateway.url, model: platform.kernel.modelPackage.id });
    if (platform.adminKey) {
      // Shown once: only its hash is stored. The hbi command reads the file when it talks to this server.
      io.stdout.write(
        `\nFirst start: created the default tenant's admin API key (shown once, also written to ${adminKeyFile(config.dataDir)}):\n\n  ${platform.adminKey}\n\n` +
          `Send it as "Authorization: Bearer <key>"; make narrower keys with the createApiKey mutation or \`hbi keys create\`.\n\n`,
      );
    }
    const demo = new AbortController();
    const indexing = indexDemoLibrary(platform, config, logger, demo.signal);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        logger.info('shutting down', { signal });
        demo.abort();
        // Bounded by HBI_SHUTDOWN_TIMEOUT_MS (the platform's stop abandons what is still stopping then;
        // this also bounds the demo library's wind-down); `hbi` exits soon after whatever still runs.
        const deadline = setTimeout(() => {
          logger.error(
            'shutdown deadline passed; exiting with work still in hand (jobs resume at the next start)',
            {
              deadlineMs: config.shutdownTimeoutMs,
            },
          );
          resolve();
        }, config.shutdownTimeoutMs + 1_000);
        deadline.unref();
        void indexing
          .then(() => platform.stop())
          .finally(() => clearTimeout(deadline))
          .then(resolve, resolve);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
    return 0;
  },
};

/** Indexes the demo library in the background once the API serves; failures are logged, never fatal. */
async function indexDemoLibrary(
  platform: Platform,
  config: Config,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  if (config.demoLibrary === 'off') return;
  const file = path.resolve(config.demoLibrary);
  if (!existsSync(file)) {
    logger.info('no demo library to index', { file });
    return;
  }
  const { kernel } = platform;
  const ingestor = new VideoIngestor({
    ...kernel,
    model: kernel.modelPackage.manifest,
    logger: logger.child({ component: 'ingest' }),
  });
  await ingestDemoLibrary(ingestor, file, logger, { signal }).catch((error: unknown) =>
    logger.error('demo library indexing failed', { error }),
  );
}
