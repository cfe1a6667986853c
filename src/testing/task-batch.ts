/**
 * Runs one batch through a task handler the way the task dispatcher hands it over: each input goes
 * through its JSON wire form and the handler's `input` schema first (a failing item gets
 * BAD_USER_INPUT and never reaches `handle`), the rest go to `handle` as one batch, and the outcomes
 * are put back in item order. Unlike the dispatcher, anything that breaks the batch contract (a throw,
 * a wrong count, a malformed outcome) fails loudly instead of failing the batch's items.
 */
import assert from 'node:assert/strict';

import { HbiError, isHbiError } from '../core/errors.js';
import type { AnyTask, TaskContext, TaskItem, TaskOutcome } from '../core/plugins/define-plugin.js';
import { throughWire } from '../core/tasks/wire.js';

/** One outcome per input, in input order. */
export async function runTaskBatch(
  kind: string,
  handler: AnyTask,
  context: TaskContext,
  inputs: readonly unknown[],
): Promise<TaskOutcome<unknown>[]> {
  const outcomes: TaskOutcome<unknown>[] = [];
  const items: TaskItem<unknown>[] = [];
  const slots: number[] = [];
  inputs.forEach((raw, slot) => {
    const input = throughWire(raw, `${kind} sample ${slot}`);
    const parsed = handler.input ? handler.input.safeParse(input) : { success: true as const, data: input };
    if (parsed.success) {
      items.push({ id: `item-${slot}`, input: parsed.data });
      slots.push(slot);
    } else {
      outcomes[slot] = {
        ok: false,
        error: new HbiError('BAD_USER_INPUT', `Invalid ${kind} input: ${parsed.error.message}`),
      };
    }
  });
  if (items.length === 0) return outcomes;
  let results: readonly TaskOutcome<unknown>[];
  try {
    results = await handler.handle(items, context);
  } catch (error) {
    assert.fail(
      `${kind}: handle(batch) threw instead of returning one outcome per item: ${String((error as Error)?.message ?? error)}`,
    );
  }
  const returned: unknown = results;
  assert.ok(Array.isArray(returned), `${kind}: handle(batch) must return an array of outcomes`);
  assert.equal(
    results.length,
    items.length,
    `${kind}: handle(batch) returned ${results.length} outcomes for ${items.length} items`,
  );
  results.forEach((outcome, index) => {
    const ok = (outcome as Partial<TaskOutcome<unknown>> | undefined)?.ok;
    assert.ok(
      ok === true ? 'value' in outcome : ok === false && isHbiError((outcome as { error?: unknown }).error),
      `${kind}: outcome ${index} is neither { ok: true, value } nor { ok: false, error: HbiError }`,
    );
    outcomes[slots[index]!] = outcome;
  });
  return outcomes;
}

/**
 * Deep equality where numbers may differ by a relative `tolerance` (batched inference is not bit-exact).
 * Containers must be of the same kind: a typed array never equals the object JSON makes of it.
 */
export function sameValue(a: unknown, b: unknown, tolerance = 1e-4): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Object.is(a, b);
  if (containerKind(a) !== containerKind(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof Map || a instanceof Set) {
    return sameValue([...a.entries()], [...(b as Map<unknown, unknown>).entries()], tolerance);
  }
  if (ArrayBuffer.isView(a) || Array.isArray(a)) {
    const [left, right] = [Array.from(a as ArrayLike<unknown>), Array.from(b as ArrayLike<unknown>)];
    return (
      left.length === right.length && left.every((item, index) => sameValue(item, right[index], tolerance))
    );
  }
  const [left, right] = [a as Record<string, unknown>, b as Record<string, unknown>];
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && sameValue(left[key], right[key], tolerance))
  );
}

function containerKind(value: object): string {
  if (Array.isArray(value)) return 'array';
  if (ArrayBuffer.isView(value)) return 'typed array';
  if (value instanceof Date) return 'date';
  if (value instanceof Map) return 'map';
  if (value instanceof Set) return 'set';
  return 'object';
}
