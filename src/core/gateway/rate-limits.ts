/**
 * Rate limits on what requests cost (cost.ts), as token buckets per API key (or token subject), per
 * tenant, and per client address for anonymous requests. A bucket holds up to one minute of its rate
 * and refills continuously; a request takes its cost from its key's and its tenant's buckets together
 * or from neither, and is refused with RATE_LIMITED (HTTP 429, `Retry-After` in seconds) when either is
 * short. Buckets live in each gateway process: N gateways behind a balancer allow N times the rate.
 */
import type { Principal } from '../auth/principal.js';
import { HbiError } from '../errors.js';

export interface RateLimitSettings {
  /** Cost units a minute per key or token subject (0: no limit). */
  keyCostPerMinute: number;
  /** Cost units a minute per tenant, all its keys together (0: no limit). */
  tenantCostPerMinute: number;
  /** Cost units a minute per client address without credentials (0: no limit). */
  anonymousCostPerMinute: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets of one rate, by name; full buckets are forgotten when the map grows. */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #maxEntries: number;

  constructor(perMinute: number, maxEntries = 100_000) {
    this.#capacity = perMinute;
    this.#perMs = perMinute / 60_000;
    this.#maxEntries = maxEntries;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Tokens `name` holds at `now`. */
  available(name: string, now: number): number {
    const bucket = this.#buckets.get(name);
    if (!bucket) return this.#capacity;
    return Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
  }

  /** Milliseconds until `name` holds `amount` (0 when it does now). */
  waitFor(name: string, amount: number, now: number): number {
    const missing = amount - this.available(name, now);
    return missing <= 0 ? 0 : Math.ceil(missing / this.#perMs);
  }

  take(name: string, amount: number, now: number): void {
    this.#buckets.set(name, { tokens: this.available(name, now) - amount, at: now });
    if (this.#buckets.size > this.#maxEntries) this.#forgetFull(now);
  }

  #forgetFull(now: number): void {
    for (const [name, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#capacity) this.#buckets.delete(name);
    }
  }
}

/** The platform's limiter: key, tenant and anonymous buckets. */
export class RateLimiter {
  readonly #keys: TokenBuckets | undefined;
  readonly #tenants: TokenBuckets | undefined;
  readonly #anonymous: TokenBuckets | undefined;
  readonly #now: () => number;

  constructor(settings: RateLimitSettings, now: () => number = Date.now) {
    const buckets = (perMinute: number) => (perMinute > 0 ? new TokenBuckets(perMinute) : undefined);
    this.#keys = buckets(settings.keyCostPerMinute);
    this.#tenants = buckets(settings.tenantCostPerMinute);
    this.#anonymous = buckets(settings.anonymousCostPerMinute);
    this.#now = now;
  }

  /**
   * Takes `cost` from the caller's buckets, or throws RATE_LIMITED (with `retryAfterSeconds`) and takes
   * nothing. A cost larger than a whole bucket could never be served: LIMIT_EXCEEDED.
   */
  charge(principal: Principal | null, client: string, cost: number): void {
    if (cost <= 0) return;
    const now = this.#now();
    const charges: [TokenBuckets, string][] = [];
    if (principal) {
      if (this.#keys) charges.push([this.#keys, `${principal.kind}:${principal.id}`]);
      if (this.#tenants) charges.push([this.#tenants, principal.tenantId]);
    } else if (this.#anonymous) {
      charges.push([this.#anonymous, client]);
    }
    let waitMs = 0;
    for (const [buckets, name] of charges) {
      if (cost > buckets.capacity) {
        throw new HbiError(
          'LIMIT_EXCEEDED',
          `This request costs ${cost}, more than the ${buckets.capacity} a minute allowed: split it into smaller requests`,
          { details: { cost, limit: buckets.capacity } },
        );
      }
      waitMs = Math.max(waitMs, buckets.waitFor(name, cost, now));
    }
    if (waitMs > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new HbiError('RATE_LIMITED', `Too many requests: retry after ${retryAfterSeconds} s`, {
        details: { retryAfterSeconds, cost },
      });
    }
    for (const [buckets, name] of charges) buckets.take(name, cost, now);
  }
}
