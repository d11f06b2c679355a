/**
 * safetensors reading and writing (F32, F16, BF16 in; F32, F16 or BF16 out), single files and sharded checkpoints
 * with their index. Tensors are read one at a time from the file descriptor, so a checkpoint is never held twice.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync, renameSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { assertRegularFile, InputError } from "../../core/errors.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./dtype.js";

export type StoredDtype = "F32" | "F16" | "BF16";
export interface Tensor {
  shape: number[];
  data: Float32Array;
}
interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}
const BYTES: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsHeader {
  file: string;
  dataStart: number;
  fileSize: number;
  tensors: Record<string, HeaderEntry>;
  metadata: Record<string, string>;
}

export function readHeader(file: string): SafetensorsHeader {
  assertRegularFile(file);
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new InputError(`truncated: ${size} bytes, too short for a safetensors header`, file);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (n > size - 8 || n > 100_000_000)
      throw new InputError(`truncated or not safetensors: header length ${n} exceeds the file`, file);
    const hbuf = Buffer.alloc(n);
    readSync(fd, hbuf, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(hbuf.toString("utf8"));
    } catch (e) {
      throw new InputError(`malformed header JSON: ${(e as Error).message}`, file);
    }
    const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    delete header.__metadata__;
    const tensors = header as Record<string, HeaderEntry>;
    const whole = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
    for (const [name, t] of Object.entries(tensors)) {
      if (!t || typeof t.dtype !== "string" || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets)) {
        throw new InputError(`tensor "${name}": malformed header entry`, file);
      }
      if (!t.shape.every(whole))
        throw new InputError(`tensor "${name}": shape [${t.shape}] is not a list of whole numbers ≥ 0`, file);
      if (t.data_offsets.length !== 2 || !t.data_offsets.every(whole) || t.data_offsets[0] > t.data_offsets[1])
        throw new InputError(
          `tensor "${name}": data_offsets [${t.data_offsets}] are not two whole numbers ≥ 0, the first no larger`,
          file,
        );
      const [a, b] = t.data_offsets;
      const count = t.shape.reduce((x, y) => x * y, 1);
      const width = BYTES[t.dtype];
      if (width === undefined) throw new InputError(`tensor "${name}": unknown dtype ${t.dtype}`, file);
      if (b - a !== count * width)
        throw new InputError(`tensor "${name}": ${b - a} bytes for shape [${t.shape}] of ${t.dtype}`, file);
      if (8 + n + b > size)
        throw new InputError(`truncated: tensor "${name}" ends at byte ${8 + n + b} but the file has ${size}`, file);
    }
    // no two tensors share bytes (a crafted file could make one tensor's weights another's)
    const spans = Object.entries(tensors)
      .map(([name, t]) => ({ name, a: t.data_offsets[0], b: t.data_offsets[1] }))
      .filter((x) => x.b > x.a)
      .sort((x, y) => x.a - y.a);
    for (let i = 1; i < spans.length; i++)
      if (spans[i].a < spans[i - 1].b)
        throw new InputError(`tensors "${spans[i - 1].name}" and "${spans[i].name}" overlap in the file`, file);
    return { file, dataStart: 8 + n, fileSize: size, tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/** Reads tensors (all, or those named) as F32. */
export function readSafetensors(file: string, names?: Iterable<string>): Map<string, Tensor> {
  const h = readHeader(file);
  const out = new Map<string, Tensor>();
  const fd = openSync(file, "r");
  try {
    for (const name of names ?? Object.keys(h.tensors)) {
      const t = h.tensors[name];
      if (!t) throw new InputError(`tensor "${name}" is not in the file`, file);
      out.set(name, { shape: t.shape, data: readTensorData(fd, h, name, t) });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A tensor as stored: its dtype and raw little-endian bytes. */
export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: ArrayBuffer;
}

/** The tensors of a file one at a time, as stored, so a loader never holds more than one of them unconverted. */
export function* eachRawTensor(file: string): Generator<RawTensor> {
  const h = readHeader(file);
  const fd = openSync(file, "r");
  try {
    for (const [name, t] of Object.entries(h.tensors)) {
      yield { name, dtype: t.dtype, shape: t.shape, bytes: readTensorBytes(fd, h, name, t) };
    }
  } finally {
    closeSync(fd);
  }
}

function readTensorBytes(fd: number, h: SafetensorsHeader, name: string, t: HeaderEntry): ArrayBuffer {
  const [a, b] = t.data_offsets;
  const bytes = b - a;
  const buf = new ArrayBuffer(bytes);
  let got = 0;
  while (got < bytes) {
    const r = readSync(fd, new Uint8Array(buf, got), 0, bytes - got, h.dataStart + a + got);
    if (r <= 0) throw new InputError(`truncated while reading tensor "${name}"`, h.file);
    got += r;
  }
  return buf;
}

/**
 * A model's tensor refused when it holds a NaN or infinity (a model with one gives no valid score). Loaders of weights
 * call it; the file reader itself reads such values as they are.
 */
export function checkFinite(t: RawTensor, file: string): void {
  const bad = firstNonFinite(t.bytes, t.dtype);
  if (bad >= 0)
    throw new InputError(
      `tensor "${t.name}" holds a NaN or infinite value (element ${bad}): a model with it gives no valid score`,
      file,
    );
}

/** The index of the first NaN or infinity among a tensor's stored values, or -1 (integer dtypes: -1). */
function firstNonFinite(buf: ArrayBuffer, dtype: string): number {
  if (dtype === "BF16" || dtype === "F16") {
    // all exponent bits set: infinity or NaN
    const mask = dtype === "BF16" ? 0x7f80 : 0x7c00;
    const u = new Uint16Array(buf);
    for (let i = 0; i < u.length; i++) if ((u[i] & mask) === mask) return i;
    return -1;
  }
  if (dtype === "F32" || dtype === "F64") {
    const f = dtype === "F32" ? new Float32Array(buf) : new Float64Array(buf);
    for (let i = 0; i < f.length; i++) if (f[i] - f[i] !== 0) return i;
  }
  return -1;
}

function readTensorData(fd: number, h: SafetensorsHeader, name: string, t: HeaderEntry): Float32Array {
  return rawToF32({ name, dtype: t.dtype, shape: t.shape, bytes: readTensorBytes(fd, h, name, t) }, h.file);
}

/** A stored tensor's values as F32. */
export function rawToF32(t: RawTensor, file: string): Float32Array {
  const buf = t.bytes;
  const name = t.name;
  const count = buf.byteLength / BYTES[t.dtype];
  switch (t.dtype) {
    case "F32":
      return new Float32Array(buf);
    case "BF16": {
      const o = new Float32Array(count);
      bf16ToF32(new Uint16Array(buf), o);
      return o;
    }
    case "F16": {
      const o = new Float32Array(count);
      f16ToF32(new Uint16Array(buf), o);
      return o;
    }
    case "F64":
      return Float32Array.from(new Float64Array(buf));
    default:
      throw new InputError(`tensor "${name}": dtype ${t.dtype} cannot be read as floating point`, file);
  }
}

/** Writes tensors in the given dtype; the file appears whole or not at all (written beside, then renamed). */
export function writeSafetensors(
  file: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  dtype: StoredDtype = "F32",
  metadata: Record<string, string> = { format: "pt" },
): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const width = dtype === "F32" ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((x, y) => x * y, 1);
    if (count !== t.data.length)
      throw new Error(`tensor "${name}": shape [${t.shape}] does not match ${t.data.length} values`);
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + count * width] };
    off += count * width;
  }
  let hbuf = Buffer.from(JSON.stringify(header), "utf8");
  hbuf = Buffer.concat([hbuf, Buffer.alloc((8 - (hbuf.length % 8)) % 8, 0x20)]);
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  const fd = openSync(tmp, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hbuf.length));
    writeSync(fd, len);
    writeSync(fd, hbuf);
    for (const [, t] of entries) {
      let bytes: Uint8Array;
      if (dtype === "F32") bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      else {
        const u = new Uint16Array(t.data.length);
        (dtype === "BF16" ? f32ToBf16 : f32ToF16)(t.data, u);
        bytes = new Uint8Array(u.buffer);
      }
      writeSync(fd, bytes);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** The safetensors files of a checkpoint directory: model.safetensors, or the shards named by its index. */
export function checkpointFiles(dir: string): { files: string[]; weightMap: Map<string, string> | null } {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(index)) {
    let parsed: { weight_map?: Record<string, string> };
    try {
      parsed = JSON.parse(readFileSync(index, "utf8"));
    } catch (e) {
      throw new InputError(`malformed JSON: ${(e as Error).message}`, index);
    }
    if (!parsed.weight_map || typeof parsed.weight_map !== "object")
      throw new InputError('field "weight_map" is missing', index);
    const map = new Map(Object.entries(parsed.weight_map).map(([k, v]) => [k, join(dir, v)]));
    const files = [...new Set(map.values())];
    for (const f of files)
      if (!existsSync(f)) throw new InputError(`shard ${basename(f)} named by the index is missing`, index);
    return { files, weightMap: map };
  }
  if (existsSync(single)) return { files: [single], weightMap: null };
  throw new InputError("no model.safetensors or model.safetensors.index.json", dir);
}

/** Reads every tensor of a checkpoint directory (single file or shards). */
export function readCheckpoint(dir: string): Map<string, Tensor> {
  const { files } = checkpointFiles(dir);
  const all = new Map<string, Tensor>();
  for (const f of files) for (const [k, v] of readSafetensors(f)) all.set(k, v);
  return all;
}
