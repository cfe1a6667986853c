/**
 * A cluster worker process (`hbi worker`, `hbi serve --role worker`): owns the encoder (ONNX sessions,
 * the accelerator), sets the plugins up, serves their tasks as a member of the `workers` consumer
 * group (`tasks/kafka-worker.ts`), runs ingest jobs as a member of the `ingest-worker` group and,
 * where configured, turns the bucket's object events into jobs. No API: only `/health/live` and
 * `/health/ready` on HBI_WORKER_HEALTH_PORT. Live from the first moment; ready once every part has
 * started (the encoder is warm and both groups are joined); not ready again while stopping.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';

import type { Config } from './config.js';
import { UnreachableCaseError, toHbiError } from './errors.js';
import { startLibrary } from './library/library.js';
import type { Kernel } from './kernel.js';
import { bootKernel } from './kernel.js';
import type { Logger } from './logger.js';
import { Lifecycle } from './lifecycle.js';
import {
  kafkaTaskBusSettings,
  requireClusterAdapters,
  startInProcessDispatcher,
  startPlugins,
} from './platform.js';
import type { HbiPlugin } from './plugins/define-plugin.js';
import { KafkaTaskWorker } from './tasks/kafka-worker.js';
import type { TaskBusHealth } from './tasks/port.js';

/** Where a worker is in its life; only `serving` is ready. */
export type WorkerState =
  | { phase: 'starting' }
  | { phase: 'serving'; since: Date }
  | { phase: 'stopping' }
  | { phase: 'failed'; error: string };

export interface WorkerProcess {
  readonly workerId: string;
  readonly state: WorkerState;
  kernel: Kernel;
  /** `http://host:port` of the health endpoints. */
  healthUrl: string;
  /** Leaves both groups (the partitions move at once), then stops plugins and kernel; safe twice. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  builtins: readonly HbiPlugin[];
  /** Names this worker in logs and task replies; default `<host>-<pid>-<random>`. */
  workerId?: string;
}

/** Starts a worker; throws the first typed failure after stopping what had started. */
export async function startWorker(
  config: Config,
  logger: Logger,
  options: WorkerOptions,
): Promise<WorkerProcess> {
  requireClusterAdapters(config, 'worker');
  const workerId = options.workerId ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = logger.child({ worker: workerId });
  let state: WorkerState = { phase: 'starting' };
  let taskWorker: KafkaTaskWorker | undefined;
  const health = await listenHealth(
    config,
    () => state,
    () => taskWorker?.health(),
  );
  const life = new Lifecycle(log, { stopTimeoutMs: config.shutdownTimeoutMs });
  let kernel: Kernel;
  try {
    kernel = await life.add(
      'kernel',
      () => bootKernel(config, log),
      (k) => k.stop(),
    );
    const booted = kernel;
    const registry = await life.add(
      'plugins',
      () => startPlugins(config, log, booted, options.builtins),
      (r) => r.stop(),
    );
    const dispatcher = await startInProcessDispatcher(life, registry, log);
    taskWorker = await life.add(
      'task worker',
      () =>
        KafkaTaskWorker.start({
          ...kafkaTaskBusSettings(config),
          dispatcher,
          workerId,
          logger: log.child({ component: 'task-worker' }),
        }),
      (w) => w.stop(),
    );
    await life.add(
      'library',
      () => startLibrary(booted, { worker: true, objectEvents: true }),
      (l) => l.stop(),
    );
  } catch (error) {
    state = { phase: 'failed', error: toHbiError(error).message };
    await closeServer(health.server);
    throw toHbiError(error);
  }
  state = { phase: 'serving', since: new Date() };
  log.info('worker serving', { health: health.url, model: kernel.modelPackage.id });
  let stopped: Promise<void> | undefined;
  return {
    workerId,
    get state() {
      return state;
    },
    kernel,
    healthUrl: health.url,
    stop: () =>
      (stopped ??= (async () => {
        state = { phase: 'stopping' };
        await life.stop();
        await closeServer(health.server);
      })()),
  };
}

/** The health endpoints: live while the process runs, ready only while serving and the task bus works. */
async function listenHealth(
  config: Pick<Config, 'host' | 'workerHealthPort'>,
  current: () => WorkerState,
  bus: () => TaskBusHealth | undefined,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://worker').pathname;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (path === '/health/live') return send(200, { live: true });
    if (path !== '/health/ready') return send(404, { error: `No route ${path}` });
    const state = current();
    switch (state.phase) {
      case 'serving': {
        const taskBus = bus();
        if (taskBus && !taskBus.ok) {
          return send(503, {
            ready: false,
            phase: state.phase,
            taskBus: 'unreachable',
            reason: taskBus.reason,
          });
        }
        return send(200, { ready: true, phase: state.phase });
      }
      case 'starting':
      case 'stopping':
      case 'failed':
        return send(503, { ready: false, phase: state.phase });
      default:
        throw new UnreachableCaseError(state);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.workerHealthPort, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${config.host}:${address.port}` };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
