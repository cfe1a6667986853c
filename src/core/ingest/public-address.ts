/**
 * Which IP addresses count as "the public internet" for downloads a client asks the server to make.
 * Everything in the IANA special-purpose registries is refused (loopback, private, link-local, CGNAT,
 * documentation, benchmarking, multicast, reserved, …), and IPv6 addresses that carry an IPv4 address
 * are never a way around that: IPv4-mapped addresses are judged by the IPv4 address they carry, and the
 * translation and tunnelling ranges (NAT64, 6to4, Teredo) are refused outright. IPv6 is allowed only in
 * global unicast (2000::/3) outside its special-purpose blocks.
 */
import { isIP } from 'node:net';

/** [first address, prefix length] of each IPv4 block that is not the public internet. */
const IPV4_BLOCKED: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT (shared address space)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the limited broadcast address 255.255.255.255
];

/** IPv6 blocks inside global unicast (2000::/3) that are not the public internet. */
const IPV6_BLOCKED_IN_GLOBAL: readonly (readonly [string, number])[] = [
  ['2001::', 23], // IETF protocol assignments: Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID(v2) 2001:10::/28, 2001:20::/28
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: tunnels to whatever IPv4 address it embeds
  ['3fff::', 20], // documentation
  ['5f00::', 16], // SRv6 segment identifiers
];

/** The 4 bytes of a dotted-quad IPv4 address (as `net.isIP` accepts it), else null. */
export function parseIPv4(text: string): Uint8Array | null {
  if (isIP(text) !== 4) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

/**
 * The 16 bytes of an IPv6 address in any textual form (`::` compression, an IPv4 tail such as
 * `::ffff:127.0.0.1`, a `%zone` suffix), else null.
 */
export function parseIPv6(text: string): Uint8Array | null {
  const address = text.replace(/%.*$/, '');
  if (isIP(address) !== 6) return null;
  let groups: number[] = [];
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const toGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(piece)) return null;
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Whether the first `prefix` bits of `bytes` equal those of `network`. */
function inPrefix(bytes: Uint8Array, network: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 8) {
    const take = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const index = bit / 8;
    if ((bytes[index]! & mask) !== (network[index]! & mask)) return false;
  }
  return true;
}

const V4_NETWORKS = IPV4_BLOCKED.map(([network, prefix]) => [parseIPv4(network)!, prefix] as const);
const V6_NETWORKS = IPV6_BLOCKED_IN_GLOBAL.map(([network, prefix]) => [parseIPv6(network)!, prefix] as const);
const V4_MAPPED = parseIPv6('::ffff:0:0')!;
const GLOBAL_UNICAST = parseIPv6('2000::')!;

function ipv4NonPublic(bytes: Uint8Array): boolean {
  return V4_NETWORKS.some(([network, prefix]) => inPrefix(bytes, network, prefix));
}

/**
 * True for every address that is not plainly on the public internet: loopback, private, link-local,
 * CGNAT, multicast, reserved, broadcast, documentation, benchmarking, 0/8; in IPv6 the unspecified and
 * loopback addresses, NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard (100::/64), unique local, link- and
 * site-local, multicast, and in global unicast Teredo, 6to4, ORCHID, documentation and the other IETF
 * blocks. IPv4-mapped addresses (::ffff:a.b.c.d) are judged as a.b.c.d. Anything that is not an IP
 * address at all is non-public too.
 */
export function isNonPublicAddress(address: string): boolean {
  const v4 = parseIPv4(address);
  if (v4) return ipv4NonPublic(v4);
  const v6 = parseIPv6(address);
  if (!v6) return true;
  if (inPrefix(v6, V4_MAPPED, 96)) return ipv4NonPublic(v6.subarray(12));
  // Outside global unicast every IPv6 block is special-purpose (::/128, ::1, NAT64, discard, ULA,
  // link-local, site-local, multicast, the deprecated IPv4-compatible ::a.b.c.d).
  if (!inPrefix(v6, GLOBAL_UNICAST, 3)) return true;
  return V6_NETWORKS.some(([network, prefix]) => inPrefix(v6, network, prefix));
}
