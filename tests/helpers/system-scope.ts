/**
 * Tests read and write the database around the platform's ports (to seed rows, or to check what a
 * port wrote): through `asSystem` or `systemView`, in the system data scope, which sees every
 * tenant's rows. Production code names its scope where it works (src/core/db/scope.ts).
 */
import type { Database } from '../../src/core/db/port.js';
import type { Relational, RelationalDatabase } from '../../src/core/db/relational.js';
import { inOwnerScope, inSystemScope } from '../../src/core/db/scope.js';

/** Runs `work` in the system scope. */
export function asSystem<T>(work: () => T): T {
  return inSystemScope('test', work);
}

/** `db` with every statement (SQL port and Prisma Client alike) in the system scope. */
export function systemView<D extends Database>(db: D): D {
  return scopedView(db, asSystem);
}

/** `db` with every statement as the connecting role: for tests of the adapters themselves (they create tables). */
export function ownerView<D extends Database>(db: D): D {
  return scopedView(db, asOwner);
}

function scopedView<D extends Database>(db: D, inScope: <T>(work: () => T) => T): D {
  const overrides: Record<string, unknown> = {
    query: (sql: string, params?: readonly unknown[]) => inScope(() => db.query(sql, params)),
    exec: (sql: string) => inScope(() => db.exec(sql)),
    transaction: (work: Parameters<Database['transaction']>[0]) => inScope(() => db.transaction(work)),
  };
  let prisma: Relational | undefined;
  return new Proxy(db, {
    get: (target, property, receiver) => {
      if (typeof property === 'string' && property in overrides) return overrides[property];
      if (property === 'prisma' && 'prisma' in target) {
        if (!prisma) {
          const extended = (target as unknown as RelationalDatabase).prisma.$extends({
            query: { $allOperations: ({ args, query }) => inScope(() => query(args)) },
          }) as unknown as Relational;
          // Opening an interactive or batch transaction is a statement too.
          prisma = new Proxy(extended, {
            get: (client, name) => {
              const member: unknown = Reflect.get(client, name, client);
              if (name !== '$transaction' || typeof member !== 'function') return member;
              return (...args: unknown[]) =>
                inScope(() => (member as (...a: unknown[]) => unknown).apply(client, args));
            },
          });
        }
        return prisma;
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** Runs `work` as the connecting role (schema changes in tests). */
export function asOwner<T>(work: () => T): T {
  return inOwnerScope('test', work);
}

/**
 * `service` with each method call in the system scope: for tests that drive a port the way a worker
 * does (by id, inside the scope of the message it handles). Methods that take a tenant still narrow
 * to it themselves.
 */
export function systemCalls<T extends object>(service: T): T {
  return new Proxy(service, {
    get: (target, property) => {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        asSystem(() => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}
