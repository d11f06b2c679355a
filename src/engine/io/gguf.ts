/**
 * Writing GGUF (version 3), the file format of llama.cpp and Ollama: a header, typed metadata, tensor descriptions,
 * then the tensors' data, each aligned to 32 bytes. Tensors are written one at a time to a temporary file that is
 * renamed into place at the end, so an interrupted export never leaves a file that looks whole.
 * Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { f32ToBf16, f32ToF16 } from "./dtype.js";

const ALIGNMENT = 32;

/** ggml tensor types crossmon writes, with their numbers in the format. */
export const GGML_TYPES = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export type GgmlType = keyof typeof GGML_TYPES;

/** A metadata value with its GGUF type (the format keeps integer widths, so the caller names them). */
export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: string[] }
  | { type: "i32[]"; value: number[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: string[]): GgufValue => ({ type: "string[]", value }),
  i32s: (value: number[]): GgufValue => ({ type: "i32[]", value }),
};

/** A tensor to write: its GGUF name, its shape as PyTorch writes it (rows first), its type, and its values. */
export interface GgufTensor {
  name: string;
  shape: number[];
  type: GgmlType;
  /** called once, when the tensor is written, so that a large model is never held twice in memory */
  data: () => Float32Array;
}

const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10 } as const;

/** Bytes of a tensor of n values (n along the last PyTorch dimension a multiple of 32 for Q8_0). */
export function tensorBytes(type: GgmlType, n: number): number {
  if (type === "F32") return n * 4;
  if (type === "F16" || type === "BF16") return n * 2;
  return (n / 32) * 34;
}

/** Q8_0: blocks of 32 values as one F16 scale (max |x| / 127) and 32 signed bytes, as llama.cpp quantises. */
export function quantizeQ80(x: Float32Array): Uint8Array {
  if (x.length % 32) throw new Error(`Q8_0 needs a multiple of 32 values, not ${x.length}`);
  const out = new Uint8Array((x.length / 32) * 34);
  const view = new DataView(out.buffer);
  const scale = new Float32Array(1);
  const half = new Uint16Array(1);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
    const d = amax / 127;
    const inv = d ? 1 / d : 0;
    scale[0] = d;
    f32ToF16(scale, half);
    view.setUint16(b * 34, half[0], true);
    for (let i = 0; i < 32; i++) view.setInt8(b * 34 + 2 + i, Math.round(x[b * 32 + i] * inv));
  }
  return out;
}

function encodeTensor(type: GgmlType, x: Float32Array): Uint8Array {
  if (type === "F32") return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (type === "Q8_0") return quantizeQ80(x);
  const h = new Uint16Array(x.length);
  if (type === "F16") f32ToF16(x, h);
  else f32ToBf16(x, h);
  return new Uint8Array(h.buffer);
}

/** A growing little-endian byte buffer for the header, metadata and tensor descriptions. */
class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  private push(b: Buffer) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  string(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer) {
    this.push(b);
  }
  concat(): Buffer {
    return Buffer.concat(this.parts);
  }
}

type Scalar = "u32" | "i32" | "f32" | "bool" | "string";

function writeScalar(out: Bytes, type: Scalar, x: number | boolean | string): void {
  if (type === "string") out.string(x as string);
  else if (type === "bool") out.raw(Buffer.from([x ? 1 : 0]));
  else out[type](x as number);
}

/** A value as its type's number, then the value (an array: its element type, length, then the elements). */
function writeValue(out: Bytes, v: GgufValue): void {
  if (v.type === "string[]" || v.type === "i32[]") {
    const element = v.type === "string[]" ? "string" : "i32";
    out.u32(VALUE_TYPE.array);
    out.u32(VALUE_TYPE[element]);
    out.u64(v.value.length);
    for (const x of v.value) writeScalar(out, element, x);
    return;
  }
  out.u32(VALUE_TYPE[v.type]);
  writeScalar(out, v.type, v.value);
}

const pad = (n: number) => (ALIGNMENT - (n % ALIGNMENT)) % ALIGNMENT;

/** Writes a GGUF file: metadata in the order given, then the tensors. Returns the file's size in bytes. */
export function writeGguf(
  file: string,
  metadata: [string, GgufValue][],
  tensors: GgufTensor[],
  onTensor?: (done: number, total: number) => void,
): number {
  const head = new Bytes();
  head.raw(Buffer.from("GGUF", "latin1"));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length + 1);
  for (const [key, v] of metadata) {
    head.string(key);
    writeValue(head, v);
  }
  head.string("general.alignment");
  writeValue(head, gguf.u32(ALIGNMENT));
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.type === "Q8_0" && t.shape[t.shape.length - 1] % 32)
      throw new Error(`${t.name}: Q8_0 needs rows of a multiple of 32 values (shape [${t.shape}])`);
    head.string(t.name);
    head.u32(t.shape.length);
    // GGUF lists dimensions fastest-varying first: the reverse of PyTorch's order
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32(GGML_TYPES[t.type]);
    head.u64(offset);
    offset += tensorBytes(t.type, n);
    offset += pad(offset);
  }
  const tmp = `${file}.partial`;
  const fd = openSync(tmp, "w");
  let open = true;
  try {
    const h = head.concat();
    writeSync(fd, h);
    let pos = h.length;
    const zeros = Buffer.alloc(ALIGNMENT);
    const align = () => {
      const p = pad(pos);
      if (p) writeSync(fd, zeros, 0, p);
      pos += p;
    };
    align();
    tensors.forEach((t, i) => {
      const bytes = encodeTensor(t.type, t.data());
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (bytes.length !== tensorBytes(t.type, n))
        throw new Error(`${t.name}: ${bytes.length} bytes of data for shape [${t.shape}]`);
      writeSync(fd, bytes);
      pos += bytes.length;
      align();
      onTensor?.(i + 1, tensors.length);
    });
    closeSync(fd);
    open = false;
    renameSync(tmp, file);
    return pos;
  } catch (e) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
