/** A named weight tensor, its gradient (allocated only when it trains) and its shape, as Hugging Face names it. */
export interface Param {
  name: string;
  shape: number[];
  data: Float32Array;
  grad: Float32Array | null;
}

export function makeParam(name: string, shape: number[], data?: Float32Array): Param {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== n) throw new Error(`${name}: ${data.length} values for shape [${shape}]`);
  return { name, shape, data: data ?? new Float32Array(n), grad: null };
}

export function setTrainable(p: Param, on: boolean): void {
  p.grad = on ? (p.grad ?? new Float32Array(p.data.length)) : null;
}
