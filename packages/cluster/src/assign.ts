/**
 * Which node should run which feed: a pure function of the desired feeds and the live nodes,
 * so that every node computes the same answer from the same view without talking to the others.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/** A 48-bit score of the pair (feed, node): stable across processes, machines and versions. */
function score(feed: string, node: string): number {
  const h = createHash('sha256').update(feed).update('\u0000').update(node).digest();
  return h.readUIntBE(0, 6);
}

/**
 * Balanced, sticky rendezvous hashing. Every node gets ⌊F/N⌋ or ⌈F/N⌉ of the F feeds. First each
 * feed stays with its current owner (when that node is live and under its share: a running feed
 * is not moved without need), in name order; then each remaining feed goes to the node with the
 * highest (feed, node) score among those under their share. So when a node joins, only the feeds
 * that make its share move to it; when one leaves, only its feeds move.
 *
 * @param feeds - the desired feed names (any order; duplicates ignored)
 * @param nodes - the live node names (any order; duplicates ignored)
 * @param current - who holds each feed now (its lease), if anyone
 * @returns feed name → node name (empty when there is no node)
 * @example
 * ```ts
 * const plan = assignFeeds(['gate', 'dock', 'yard'], ['n1', 'n2']);
 * plan.get('gate'); // 'n1' or 'n2' — the same on every machine
 * ```
 */
export function assignFeeds(feeds: Iterable<string>, nodes: Iterable<string>, current?: ReadonlyMap<string, string>): Map<string, string> {
  const f = [...new Set(feeds)].sort();
  const n = [...new Set(nodes)].sort();
  const out = new Map<string, string>();
  if (n.length === 0) return out;
  const base = Math.floor(f.length / n.length);
  let extra = f.length % n.length; // how many nodes may hold base + 1
  const load = new Map(n.map((x) => [x, 0]));
  const take = (node: string): boolean => {
    const k = load.get(node);
    if (k === undefined) return false;
    if (k < base) { load.set(node, k + 1); return true; }
    if (k === base && extra > 0) { extra--; load.set(node, k + 1); return true; }
    return false;
  };
  for (const feed of f) {
    const owner = current?.get(feed);
    if (owner !== undefined && take(owner)) out.set(feed, owner);
  }
  for (const feed of f) {
    if (out.has(feed)) continue;
    const ranked = n.map((node) => ({ node, s: score(feed, node) })).sort((a, b) => b.s - a.s || (a.node < b.node ? -1 : 1));
    for (const { node } of ranked) if (take(node)) { out.set(feed, node); break; }
  }
  return out;
}
