/**
 * One way to start and stop a process's parts (in the spirit of Apollo Server's `toDispose`): each
 * role (embedded, gateway, worker) and the kernel are a list of parts, started in order with `add`,
 * each with the stop that undoes it. A part that fails to start stops every part already started, in
 * reverse, and its typed error is thrown. `stop` runs the stops in reverse order under one deadline:
 * a failing stop is logged and the rest still run; parts still stopping at the deadline are named in
 * the log and abandoned, so a stuck part never hangs the process's exit.
 */
import { toHbiError } from './errors.js';
import type { Logger } from './logger.js';

type Stop = () => void | Promise<void>;

export interface LifecycleOptions {
  /** Longest `stop` waits for all the parts together. Default 30 s. */
  stopTimeoutMs?: number;
}

export class Lifecycle {
  readonly #logger: Logger;
  readonly #stopTimeoutMs: number;
  readonly #parts: { name: string; stop: Stop }[] = [];
  #stopping: Promise<void> | undefined;

  constructor(logger: Logger, options: LifecycleOptions = {}) {
    this.#logger = logger;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  }

  /** Names of the started parts, in start order. */
  get parts(): readonly string[] {
    return this.#parts.map((part) => part.name);
  }

  /**
   * Starts one part and remembers how to stop it. When `start` throws, everything started before is
   * stopped (in reverse) and the failure is rethrown as a typed error naming the part in the log.
   */
  async add<T>(
    name: string,
    start: () => T | Promise<T>,
    stop?: (value: T) => void | Promise<void>,
  ): Promise<T> {
    if (this.#stopping) throw toHbiError(new Error(`Cannot start ${name}: the process is stopping`));
    let value: T;
    try {
      value = await start();
    } catch (error) {
      const failure = toHbiError(error);
      this.#logger.error(`boot failed while starting ${name}`, { error: failure });
      await this.stop();
      throw failure;
    }
    if (stop) this.#parts.push({ name, stop: () => stop(value) });
    return value;
  }

  /** Stops the started parts in reverse order, all within the deadline; safe to call more than once. */
  stop(): Promise<void> {
    return (this.#stopping ??= this.#stopAll());
  }

  async #stopAll(): Promise<void> {
    const parts = this.#parts.splice(0).reverse();
    let current = '';
    const run = (async () => {
      for (const part of parts) {
        current = part.name;
        try {
          await part.stop();
        } catch (error) {
          this.#logger.error(`stop failed at ${part.name}`, { error });
        }
      }
      current = '';
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.#stopTimeoutMs);
      timer.unref();
    });
    const outcome = await Promise.race([run.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'late') {
      const left = parts.slice(parts.findIndex((part) => part.name === current)).map((part) => part.name);
      this.#logger.error('stop deadline passed: abandoning the parts still stopping', {
        deadlineMs: this.#stopTimeoutMs,
        abandoned: left,
      });
    }
  }
}
