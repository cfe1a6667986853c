/**
 * Process roles for cluster mode. `hbi serve --role all|gateway|worker` wraps the single-process
 * `serve` (role `all`, the default, is exactly it); `hbi worker` is `--role worker`. A gateway is the
 * stateless API (GraphQL, uploads, task dispatch); a worker owns the encoder and runs plugin tasks and
 * ingest jobs from Kafka consumer groups, with only health endpoints. Both run until SIGINT/SIGTERM.
 */
import { loadConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import { createLogger } from '../../core/logger.js';
import { startPlatform } from '../../core/platform.js';
import { startWorker } from '../../core/worker.js';
import { BUILTIN_PLUGINS } from '../../plugins/builtins.js';
import type { Command, ParsedArgs } from '../args.js';
import { UsageError } from '../args.js';
import type { CliIo } from '../io.js';
import { serveCommand as singleProcessServe } from './serve.js';

const ROLES = ['all', 'gateway', 'worker'] as const;
type Role = (typeof ROLES)[number];

const CLUSTER_NOTE =
  'Roles gateway and worker need the shared services: DATABASE_URL, KAFKA_BROKERS and\n' +
  'HBI_OBJECT_STORE_URL (bash infra/up.sh && source .cache/infra/env). Every gateway of a cluster\n' +
  'needs the same HBI_UPLOAD_SECRET; workers answer /health/live and /health/ready on\n' +
  'HBI_WORKER_HEALTH_PORT.';

export const serveCommand: Command = {
  ...singleProcessServe,
  summary: 'Start the platform (all in one process, or one cluster role: gateway or worker)',
  usage: 'hbi serve [--role all|gateway|worker]',
  details: `${singleProcessServe.details ?? ''}\n\n--role gateway: GraphQL + uploads, tasks sent to workers over Kafka, no encoder.\n--role worker: the same as "hbi worker".\n${CLUSTER_NOTE}`,
  options: {
    ...singleProcessServe.options,
    role: { type: 'string', value: '<role>', description: 'all (default), gateway or worker' },
  },
  run(args, io) {
    const role = parseRole(args);
    switch (role) {
      case 'all':
        return singleProcessServe.run(args, io);
      case 'gateway':
        return runGateway(io);
      case 'worker':
        return runWorker(io);
    }
  },
};

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Start a cluster worker: encoder, plugin tasks and ingest jobs from Kafka (= serve --role worker)',
  usage: 'hbi worker',
  details: `Runs until SIGINT or SIGTERM, then finishes the work in hand and leaves its consumer groups.\n${CLUSTER_NOTE}`,
  options: {},
  positionals: { min: 0, max: 0 },
  run: (_args, io) => runWorker(io),
};

function parseRole(args: ParsedArgs): Role {
  const value = args.values.role ?? 'all';
  if (typeof value !== 'string' || !(ROLES as readonly string[]).includes(value)) {
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  }
  return value as Role;
}

async function runGateway(io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  const logger = createLogger(config.logLevel).child({ role: 'gateway' });
  const platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS, role: 'gateway' });
  logger.info('hbi gateway is up', { url: platform.gateway.url, model: platform.kernel.modelPackage.id });
  await untilSignal(logger);
  await platform.stop();
  return 0;
}

async function runWorker(io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  const logger = createLogger(config.logLevel).child({ role: 'worker' });
  const worker = await startWorker(config, logger, { builtins: BUILTIN_PLUGINS });
  logger.info('hbi worker is up', { health: worker.healthUrl, workerId: worker.workerId });
  await untilSignal(logger);
  await worker.stop();
  return 0;
}

function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}
