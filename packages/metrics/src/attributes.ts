/**
 * Cached, frozen attribute sets. Every observation and counter increment reuses the same
 * attribute object for the same feed / stage / processor (and the same extra dimension), so
 * the bridge allocates nothing per collection for attributes it has seen before.
 */
import { formatFeedId, type FeedId } from '@nv/core';
import type { Attributes } from '@opentelemetry/api';

/** Attribute key naming the feed (`feed-N`). */
export const ATTR_FEED_ID = 'feed_id';
/**
 * Attribute key carrying the feed's display name (`FeedConfig.name`). Present, next to
 * {@link ATTR_FEED_ID}, on every feed-scoped series of a feed that has a name; absent otherwise.
 */
export const ATTR_FEED_NAME = 'feed_name';
/** Attribute key naming a stage (its id). */
export const ATTR_STAGE_ID = 'stage_id';
/** Attribute key naming a shared batch processor (its id). */
export const ATTR_PROCESSOR_ID = 'processor_id';

type Extras = Map<string, Map<string, Attributes>>;

interface Node {
  readonly attrs: Attributes;
  extras: Extras | undefined;
}

interface FeedNode extends Node {
  readonly stages: Map<string, Node>;
  readonly processors: Map<string, Node>;
}

function node(attrs: Attributes): Node {
  return { attrs: Object.freeze(attrs), extras: undefined };
}

/** The attribute set `base ∪ {key: value}`, created once per (node, key, value). */
function extra(n: Node, key: string, value: string | boolean): Attributes {
  n.extras ??= new Map();
  let byValue = n.extras.get(key);
  if (!byValue) { byValue = new Map(); n.extras.set(key, byValue); }
  const k = String(value);
  let a = byValue.get(k);
  if (!a) { a = Object.freeze({ ...n.attrs, [key]: value }); byValue.set(k, a); }
  return a;
}

/**
 * @internal Attribute cache shared by the gauges, the health counters and the histogram producer.
 *
 * A feed's attribute set is fixed when the feed is first seen: `{feed_id}`, plus `feed_name`
 * when the feed has a name — taken from the diagnostics entry that introduced it or, for a feed
 * first seen through a health event, from `nameOf` (a feed's name never changes).
 */
export class AttributeCache {
  readonly #feeds = new Map<FeedId, FeedNode>();
  readonly #processors = new Map<string, Node>();
  readonly #none: Node = node({});
  readonly #nameOf: ((id: FeedId) => string | undefined) | undefined;

  /** @param nameOf - looks up a feed's display name by id (e.g. through `runtime.feed(id)?.name`) */
  constructor(nameOf?: (id: FeedId) => string | undefined) { this.#nameOf = nameOf; }

  #feed(id: FeedId, name?: string): FeedNode {
    let f = this.#feeds.get(id);
    if (!f) {
      let n = name;
      if (n === undefined && this.#nameOf) {
        try { n = this.#nameOf(id); } catch { n = undefined; }
      }
      const attrs: Attributes = { [ATTR_FEED_ID]: formatFeedId(id) };
      if (typeof n === 'string' && n !== '') attrs[ATTR_FEED_NAME] = n;
      f = { ...node(attrs), stages: new Map(), processors: new Map() };
      this.#feeds.set(id, f);
    }
    return f;
  }

  #stage(id: FeedId, stageId: string): Node {
    const f = this.#feed(id);
    let s = f.stages.get(stageId);
    if (!s) { s = node({ ...f.attrs, [ATTR_STAGE_ID]: stageId }); f.stages.set(stageId, s); }
    return s;
  }

  #feedProcessor(id: FeedId, processorId: string): Node {
    const f = this.#feed(id);
    let p = f.processors.get(processorId);
    if (!p) { p = node({ ...f.attrs, [ATTR_PROCESSOR_ID]: processorId }); f.processors.set(processorId, p); }
    return p;
  }

  #processor(processorId: string): Node {
    let p = this.#processors.get(processorId);
    if (!p) { p = node({ [ATTR_PROCESSOR_ID]: processorId }); this.#processors.set(processorId, p); }
    return p;
  }

  /** No attributes (runtime-wide instruments). */
  none(): Attributes { return this.#none.attrs; }
  /** `{feed_id[, feed_name]}`; `name` is used when this call introduces the feed. */
  feed(id: FeedId, name?: string): Attributes { return this.#feed(id, name).attrs; }
  /** `{feed_id, [key]: value}` */
  feedWith(id: FeedId, key: string, value: string | boolean): Attributes { return extra(this.#feed(id), key, value); }
  /** `{feed_id[, feed_name], stage_id}` */
  stage(id: FeedId, stageId: string): Attributes { return this.#stage(id, stageId).attrs; }
  /** `{feed_id, stage_id, [key]: value}` */
  stageWith(id: FeedId, stageId: string, key: string, value: string): Attributes { return extra(this.#stage(id, stageId), key, value); }
  /** `{feed_id, processor_id}` */
  feedProcessor(id: FeedId, processorId: string): Attributes { return this.#feedProcessor(id, processorId).attrs; }
  /** `{processor_id}` */
  processor(processorId: string): Attributes { return this.#processor(processorId).attrs; }
  /** `{processor_id, [key]: value}` */
  processorWith(processorId: string, key: string, value: string): Attributes { return extra(this.#processor(processorId), key, value); }

  /**
   * Forgets feeds and processors that are no longer reported, so a long-lived runtime that
   * adds and removes feeds does not grow the cache without bound. Cheap when nothing changed.
   */
  prune(feeds: readonly { readonly id: FeedId }[], processors: readonly { readonly processorId: string }[]): void {
    if (this.#feeds.size > feeds.length) {
      const live = new Set(feeds.map((f) => f.id));
      for (const id of this.#feeds.keys()) if (!live.has(id)) this.#feeds.delete(id);
    }
    if (this.#processors.size > processors.length) {
      const live = new Set(processors.map((p) => p.processorId));
      for (const id of this.#processors.keys()) if (!live.has(id)) this.#processors.delete(id);
    }
  }

  /** Number of cached feeds (for tests). */
  get feedCount(): number { return this.#feeds.size; }
}
