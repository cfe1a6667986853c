/**
 * The HTTP client of `ingestVideo(url)` downloads: an undici dispatcher whose connections can only reach
 * addresses the URL policy allows. The host name is resolved once, by the socket's own `lookup`, and
 * every address that lookup answers is checked before the socket may use any of them: the address
 * checked is the address connected to, so a DNS server that answers differently from one lookup to the
 * next (DNS rebinding) cannot steer the download into the local network. IP literals (which need no
 * lookup) are checked by the connector itself. A refused connection fails the request; nothing retries
 * it elsewhere.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOneOptions, LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';

import { Agent, buildConnector } from 'undici';

import { HbiError } from '../errors.js';
import { isNonPublicAddress } from './public-address.js';

/** Resolves a host name to all its addresses (the system resolver by default; tests pass a fake). */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The system resolver (getaddrinfo, as `fetch` itself would use): every address of the name. */
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** What `net.connect` passes its `lookup` (one address, or all when it races address families). */
type LookupOptions = (LookupOneOptions | LookupAllOptions) & { all?: boolean };

/** Why a connection was refused; the message stays in server logs (the download reports a generic error). */
function refused(message: string): HbiError {
  return new HbiError('BAD_USER_INPUT', message, { retriable: false });
}

function wantedFamily(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * A `lookup` for `net.connect`/`tls.connect` that resolves with `resolve` and refuses the connection
 * (no address handed to the socket) when the name has no address or ANY of its addresses is not public
 * (unless `allowPrivate`). Answers in both shapes `net` asks for: one address, or all of them.
 */
export function guardedLookup(resolve: Resolver, allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname)
      .then((answers) => {
        if (answers.length === 0) throw refused(`The host ${hostname} has no address`);
        if (!allowPrivate) {
          const blocked = answers.find((answer) => isNonPublicAddress(answer.address));
          if (blocked) {
            throw refused(
              `The host ${hostname} resolves to the non-public address ${blocked.address} (HBI_INGEST_URL_PRIVATE=true allows it)`,
            );
          }
        }
        const family = wantedFamily(options.family);
        const usable = answers
          .map((answer) => ({ address: answer.address, family: isIP(answer.address) }))
          .filter((answer) => answer.family !== 0 && (family === 0 || answer.family === family));
        if (usable.length === 0) throw refused(`The host ${hostname} has no IPv${family} address`);
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      })
      .catch((error: NodeJS.ErrnoException) => callback(error, options.all ? [] : ''));
  };
}

export interface DispatcherOptions {
  /** Whether non-public addresses may be reached (HBI_INGEST_URL_PRIVATE). */
  allowPrivate: boolean;
  /** Resolver of host names; the system's by default. */
  resolve?: Resolver;
  /** Longest a TCP (and TLS) connect may take. */
  connectTimeoutMs?: number;
}

/**
 * An undici Agent for one download. Close it (`agent.close()` / `agent.destroy()`) when the download
 * is over.
 */
export function guardedDispatcher(options: DispatcherOptions): Agent {
  const lookup = guardedLookup(options.resolve ?? systemResolver, options.allowPrivate);
  const base = buildConnector({ timeout: options.connectTimeoutMs ?? 10_000, lookup });
  const connect: buildConnector.connector = (target, callback) => {
    // An IP literal needs no lookup, so `lookup` never sees it: the connector checks it here.
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!options.allowPrivate && isIP(host) !== 0 && isNonPublicAddress(host)) {
      callback(refused(`The address ${host} is not public (HBI_INGEST_URL_PRIVATE=true allows it)`), null);
      return;
    }
    base(target, callback);
  };
  return new Agent({ connect });
}
