/**
 * The task port: a resolver hands one item of work of a named kind (`qa.answer`) to whichever process
 * handles that kind and awaits the item's own outcome. Embedded mode runs the plugin's batch handler
 * in this process (`in-process.ts`); cluster mode sends items gateway → worker over Kafka, so every
 * input and output must be plain JSON (no Dates, typed arrays, BigInts or class instances) and errors
 * travel as their code, message, retriable flag and details (`wire.ts`).
 */
import type { PluginContext, TaskHandler } from '../plugins/define-plugin.js';

export interface TaskRunOptions {
  /** Stop waiting after this long with TIMEOUT (retriable); an item already running still finishes. */
  timeoutMs?: number;
}

export interface TaskDispatcher {
  /** Task kinds this dispatcher can route, in plugin registration order. */
  readonly kinds: readonly string[];
  /**
   * Runs one item of `kind`. Resolves with its value; rejects with the item's own HbiError:
   * TASK_UNKNOWN for a kind no plugin handles, BAD_USER_INPUT when the handler's `input` schema
   * refuses it, UNAVAILABLE (retriable) when the kind's queue is full or the dispatcher is closing.
   */
  run<O = unknown>(kind: string, input: unknown, options?: TaskRunOptions): Promise<O>;
  /** Refuses new items, fails queued ones with UNAVAILABLE and waits for the batches in flight. */
  close(): Promise<void>;
  /**
   * Whether the transport can carry work now (cluster mode: the broker answers and replies are
   * listened for). Absent in-process, where there is no transport to lose.
   */
  health?(): TaskBusHealth;
}

export interface TaskBusHealth {
  ok: boolean;
  /** Why not, for logs and the readiness probe. */
  reason?: string;
}

/** Where a kind's items go: its handler and the owning plugin's context. */
export interface TaskRoute {
  handler: TaskHandler<never>;
  context: PluginContext;
}

/** Finds the route of a kind; `PluginRegistry.taskHandler` is one. */
export type TaskRouter = (kind: string) => TaskRoute | undefined;
