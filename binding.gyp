{
  # The addon and the native test executable, built by node-gyp (`npm install`).
  # Sources are listed by scripts/gyp-sources.cjs from their folders; files ending in
  # _avx2.cpp / _avx512.cpp get their instruction-set flags and are chosen at run time.
  "variables": {
    "have_openblas%": "<!(pkg-config --exists openblas 2>/dev/null && echo 1 || echo 0)",
    "is_x64%": "<!(node -p \"process.arch === 'x64' ? 1 : 0\")"
  },
  "target_defaults": {
    "cflags!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-frtti"],
    "cflags": ["-O3", "-fPIC"],
    "defines": ["NAPI_VERSION=8"],
    "conditions": [
      ["have_openblas==1", {
        "defines": ["AF_HAVE_OPENBLAS=1"],
        "cflags_cc": ["<!@(pkg-config --cflags openblas)"]
      }]
    ],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    }
  },
  "targets": [
    {
      "target_name": "af_core",
      "type": "static_library",
      "sources": [
        "<!@(node scripts/gyp-sources.cjs native/core)",
        "<!@(node scripts/gyp-sources.cjs native/cpu)"
      ],
      "conditions": [
        ["is_x64==1", { "dependencies": ["af_cpu_avx2", "af_cpu_avx512"] }]
      ]
    },
    {
      "target_name": "af_cpu_avx2",
      "type": "static_library",
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
      "sources": ["<!@(node scripts/gyp-sources.cjs native/cpu avx2)"]
    },
    {
      "target_name": "af_cpu_avx512",
      "type": "static_library",
      "cflags_cc": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma", "-mf16c"],
      "sources": ["<!@(node scripts/gyp-sources.cjs native/cpu avx512)"]
    },
    {
      "target_name": "adapterfusion",
      "dependencies": ["af_core"],
      "sources": ["<!@(node scripts/gyp-sources.cjs native/napi)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "conditions": [
        ["have_openblas==1", { "libraries": ["<!@(pkg-config --libs openblas)"] }],
        ["OS=='linux'", { "libraries": ["-lpthread"] }]
      ]
    },
    {
      "target_name": "af_native_tests",
      "type": "executable",
      "dependencies": ["af_core"],
      "sources": ["<!@(node scripts/gyp-sources.cjs native/test)"],
      "conditions": [
        ["have_openblas==1", { "libraries": ["<!@(pkg-config --libs openblas)"] }],
        ["OS=='linux'", { "libraries": ["-lpthread"] }]
      ]
    }
  ]
}
