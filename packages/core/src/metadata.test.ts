import { describe, expect, it } from 'vitest';
import { TypedMetadata, metadataKey } from './index.js';

const Plate = metadataKey<{ text: string }>('plate');
const Count = metadataKey<number>('count');

describe('TypedMetadata', () => {
  it('one value per key with typed get/set/delete/has/size', () => {
    const m = new TypedMetadata();
    expect(m.size).toBe(0);
    expect(m.set(Count, 1)).toBeUndefined();
    expect(m.set(Count, 2)).toBe(1);
    m.set(Plate, { text: 'AB123' });
    expect(m.get(Plate)?.text).toBe('AB123');
    expect(m.has(Count)).toBe(true);
    expect(m.size).toBe(2);
    expect(m.delete(Count)).toBe(2);
    expect(m.has(Count)).toBe(false);
    expect(m.size).toBe(1);
  });

  it('keys with the same name are distinct', () => {
    const a = metadataKey<number>('x');
    const b = metadataKey<number>('x');
    const m = new TypedMetadata();
    m.set(a, 1);
    expect(m.get(b)).toBeUndefined();
  });

  it('merge: last writer wins, source untouched', () => {
    const a = new TypedMetadata(); a.set(Count, 1); a.set(Plate, { text: 'A' });
    const b = new TypedMetadata(); b.set(Count, 5);
    a.merge(b);
    expect(a.get(Count)).toBe(5);
    expect(a.get(Plate)?.text).toBe('A');
    expect(b.size).toBe(1);
  });

  it('clone copies the map but shares values', () => {
    const v = { text: 'A' };
    const a = new TypedMetadata(); a.set(Plate, v);
    const c = a.clone();
    c.set(Count, 3);
    c.delete(Plate);
    expect(a.has(Count)).toBe(false);
    expect(a.get(Plate)).toBe(v);
    expect(a.clone().get(Plate)).toBe(v);
  });

  it('serializes by key name', () => {
    const a = new TypedMetadata(); a.set(Count, 7);
    expect(JSON.stringify(a)).toBe('{"count":7}');
  });
});
