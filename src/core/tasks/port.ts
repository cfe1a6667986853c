/**
 * The task port: a resolver hands one item of work of a named kind (`qa.answer`) to whichever process
 * handles that kind and awaits the item's own outcome. Embedded mode runs the plugin's batch handler
 * in this process (`in-process.ts`); cluster mode sends items gateway → worker over Kafka, so every
 * input and output must be plain JSON (no Dates, typed arrays, BigInts or class instances) and errors
 * travel as their code, message, retriable flag and details (`wire.ts`).
 */
import type { AnyTask, TaskContext, TaskInput, TaskOutput, TaskRunner } from '../plugins/define-plugin.js';

export interface TaskRunOptions {
  /** The tenant the item runs for: its handler's capabilities are bound to it. Items of different tenants never share a batch. */
  tenantId: string;
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
  run(kind: string, input: unknown, options: TaskRunOptions): Promise<unknown>;
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

/** Where a kind's items go: its handler and the owning plugin's context for a tenant. */
export interface TaskRoute {
  handler: AnyTask;
  context(tenantId: string): TaskContext;
}

/** Finds the route of a kind; `PluginRegistry.taskHandler` is one. */
export type TaskRouter = (kind: string) => TaskRoute | undefined;

/**
 * The typed, tenant-bound face of a dispatcher that resolvers get (`GatewayContext.tasks`): the task
 * handle fixes the input and output types, and the tenant is the request's, fixed by the gateway.
 */
export function bindTaskRunner(dispatcher: Pick<TaskDispatcher, 'run'>, tenantId: string): TaskRunner {
  return Object.freeze({
    run: <T extends AnyTask>(task: T, input: TaskInput<T>, options: { timeoutMs?: number } = {}) =>
      dispatcher.run(task.kind, input, { ...options, tenantId }) as Promise<TaskOutput<T>>,
  });
}
