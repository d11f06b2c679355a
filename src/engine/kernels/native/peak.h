// The arithmetic ceiling of this CPU: multiply-adds per second of its widest vector instruction on every pool thread,
// with nothing to load. A bench divides a workload's multiply-adds by it to give the shortest time any kernel on that
// instruction could take, so that a speed goal against a peer can be read against what the hardware allows.
#pragma once

namespace cm {
// kind "bf16": vdpbf16ps on 512-bit registers (2 multiply-adds per F32 lane); "f32": vfmadd231ps on 512 bits (AVX-512),
// 256 bits (AVX2) or 128 bits (otherwise). GFLOP/s (2 per multiply-add) over about `seconds`, all pool threads
// together; 0 when the CPU lacks the instruction.
double peak_gflops(bool bf16, double seconds);
}  // namespace cm
