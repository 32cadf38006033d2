/**
 * Reads the `metadata_props` of an ONNX model (the key/value strings exporters put there —
 * Ultralytics writes `names`, `imgsz`, `stride`, `task`, …) without a protobuf library:
 * a walk over the top-level fields of the `ModelProto`, skipping the graph by its length.
 *
 * @packageDocumentation
 */

const METADATA_PROPS_FIELD = 14;

/** Reads a varint at `pos`; returns [value, next] or undefined when malformed. */
function varint(b: Uint8Array, pos: number): [number, number] | undefined {
  let v = 0, mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) return undefined;
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, pos];
    mul *= 128;
  }
  return undefined;
}

/** Calls `onField` for each top-level field; returns false when the bytes are not a valid message. */
function walk(b: Uint8Array, start: number, end: number, onField: (field: number, wire: number, from: number, to: number) => void): boolean {
  let pos = start;
  while (pos < end) {
    const tag = varint(b, pos);
    if (!tag) return false;
    const [key, p] = tag;
    const field = Math.floor(key / 8), wire = key % 8;
    if (field === 0) return false;
    pos = p;
    if (wire === 0) {
      const v = varint(b, pos);
      if (!v) return false;
      pos = v[1];
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const len = varint(b, pos);
      if (!len) return false;
      const from = len[1], to = from + len[0];
      if (to > end) return false;
      onField(field, wire, from, to);
      pos = to;
    } else {
      return false;
    }
    if (pos > end) return false;
  }
  return true;
}

/**
 * The model's metadata properties.
 * @param bytes - the whole `.onnx` file
 * @returns key → value, or `undefined` when the bytes are not a well-formed protobuf message
 * @example
 * ```ts
 * readOnnxMetadata(await readFile('yolo11n.onnx'))?.get('names') // "{0: 'person', 1: 'bicycle', …}"
 * ```
 */
export function readOnnxMetadata(bytes: Uint8Array): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const dec = new TextDecoder();
  const ok = walk(bytes, 0, bytes.length, (field, _wire, from, to) => {
    if (field !== METADATA_PROPS_FIELD) return;
    let key = '', value = '';
    walk(bytes, from, to, (f, _w, a, z) => {
      if (f === 1) key = dec.decode(bytes.subarray(a, z));
      else if (f === 2) value = dec.decode(bytes.subarray(a, z));
    });
    if (key) out.set(key, value);
  });
  return ok ? out : undefined;
}

/**
 * Parses a class-name list as exporters write it: a JSON array (`["person", "car"]`), a JSON
 * object keyed by index (`{"0": "person"}`), or a Python dict literal
 * (`{0: 'person', 1: 'car'}`, the Ultralytics form).
 * @param text - the metadata value
 * @returns names by class index, or `undefined` when nothing parses or indices have gaps
 * @example
 * ```ts
 * parseClassNames("{0: 'person', 1: 'car'}") // ['person', 'car']
 * ```
 */
export function parseClassNames(text: string): string[] | undefined {
  const byIndex = new Map<number, string>();
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v)) return v.every((x) => typeof x === 'string') && v.length > 0 ? (v as string[]) : undefined;
    if (typeof v === 'object' && v !== null) {
      for (const [k, name] of Object.entries(v)) if (/^\d+$/.test(k) && typeof name === 'string') byIndex.set(Number(k), name);
    }
  } catch {
    const re = /(\d+)\s*:\s*(['"])((?:\\.|(?!\2)[^\\])*)\2/g;
    for (const m of text.matchAll(re)) byIndex.set(Number(m[1]), m[3]!.replace(/\\(.)/g, '$1'));
  }
  if (byIndex.size === 0) return undefined;
  const names: string[] = [];
  for (let i = 0; i < byIndex.size; i++) {
    const n = byIndex.get(i);
    if (n === undefined) return undefined;
    names.push(n);
  }
  return names;
}

/**
 * Parses an input size as exporters write it (`[640, 640]`, `640`, `(480, 640)`): height, width.
 * @param text - the metadata value
 * @returns `{ width, height }`, or `undefined` when it does not parse
 * @example
 * ```ts
 * parseImageSize('[480, 640]') // { height: 480, width: 640 }
 * ```
 */
export function parseImageSize(text: string): { width: number; height: number } | undefined {
  const nums = (text.match(/\d+/g) ?? []).map(Number);
  if (nums.length === 1 && nums[0]! > 0) return { width: nums[0]!, height: nums[0]! };
  if (nums.length === 2 && nums[0]! > 0 && nums[1]! > 0) return { height: nums[0]!, width: nums[1]! };
  return undefined;
}
