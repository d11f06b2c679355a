{
  "targets": [
    {
      "target_name": "crossmon_kernels",
      "sources": [
        "src/engine/kernels/native/addon.cc",
        "src/engine/kernels/native/gemm.cc",
        "src/engine/kernels/native/gemm_bf16.cc",
        "src/engine/kernels/native/gemm_bf16_f32.cc",
        "src/engine/kernels/native/gemm_bf16_pack.cc",
        "src/engine/kernels/native/gemm_half.cc",
        "src/engine/kernels/native/gemm_thin.cc",
        "src/engine/kernels/native/gemv.cc",
        "src/engine/kernels/native/ops.cc",
        "src/engine/kernels/native/attention.cc",
        "src/engine/kernels/native/attention_bwd.cc",
        "src/engine/kernels/native/attention_bwd_bf16.cc",
        "src/engine/kernels/native/attention_rows.cc",
        "src/engine/kernels/native/peak.cc",
        "src/engine/kernels/native/pool.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast", "-fassociative-math", "-fno-signed-zeros", "-freciprocal-math"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
