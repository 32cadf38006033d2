/**
 * `@nv/cluster`: feeds spread over several machines with NATS JetStream KV — no cluster layer of
 * nv's own. `nv cluster apply` writes the desired feeds into a bucket ({@link ClusterStore});
 * every `nv node` ({@link ClusterNode}) computes the same balanced assignment from the live
 * nodes ({@link assignFeeds}), claims its feeds with leases (compare-and-set, a TTL, a fencing
 * token), renews them, hands them over when a node joins, and stops a feed by itself before a
 * lease it could not renew can expire. A node that dies loses its leases after one TTL and its
 * feeds start on the others.
 *
 * @packageDocumentation
 */
export { assignFeeds } from './assign.js';
export { ClusterError } from './errors.js';
export type { ClusterErrorKind } from './errors.js';
export { CLUSTER_NAME_PATTERN, clusterNames, connectCluster, parseServers } from './connection.js';
export type { ClusterConnectionOptions, ClusterNames, ParsedServers } from './connection.js';
export { ClusterStore } from './store.js';
export type {
  ApplyOptions, ApplyResult, ClusterStatus, DesiredFeed, DesiredState, FeedStatus, LeaseValue, NodeFeedReport, NodeStatus, NodeValue,
} from './store.js';
export { ClusterNode } from './node.js';
export type { ClusterNodeEvent, ClusterNodeOptions, ClusterNodeStats, FeedController, Fence } from './node.js';
