/**
 * One OTel counter per health-event variant, incremented from the runtime's health listener.
 */
import { HEALTH_EVENT_TYPES, type HealthEvent, type HealthEventType } from '@nv/core';
import { ValueType, type Counter, type Meter } from '@opentelemetry/api';
import type { AttributeCache } from './attributes.js';
import { HEALTH_COUNTERS, type HealthCounterDef } from './instruments.js';

/** @internal Counts health events; `record` never throws. */
export class HealthCounters {
  readonly #attrs: AttributeCache;
  readonly #counters = new Map<HealthEventType, { readonly counter: Counter; readonly def: HealthCounterDef<HealthEventType> }>();
  #ignored = 0;

  constructor(meter: Meter, attrs: AttributeCache) {
    this.#attrs = attrs;
    for (const type of HEALTH_EVENT_TYPES) {
      // Each entry handles exactly its own variant; the map is only ever looked up by `e.type`.
      const def = HEALTH_COUNTERS[type] as unknown as HealthCounterDef<HealthEventType>;
      const counter = meter.createCounter(def.name, { description: def.description, unit: def.unit, valueType: ValueType.INT });
      this.#counters.set(type, { counter, def });
    }
  }

  /** Adds the event's amount to its variant's counter (unknown or malformed events are counted in `ignored`). */
  record(e: HealthEvent): void {
    try {
      const c = this.#counters.get(e.type);
      if (!c) { this.#ignored++; return; }
      const n = c.def.amount(e);
      if (n === 0) return;
      if (!(n > 0) || !Number.isFinite(n)) { this.#ignored++; return; }
      c.counter.add(n, c.def.attrs(e, this.#attrs));
    } catch {
      this.#ignored++;
    }
  }

  /** Events that could not be counted (an unknown variant or a malformed event). */
  get ignored(): number { return this.#ignored; }
}
