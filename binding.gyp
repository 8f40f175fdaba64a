{
  # CPU-only build of the addon with node-gyp (used by `npm run prebuild` through prebuildify). Sources come
  # from scripts/list-sources.cjs: every .cc under native/ and plugins/ except native/backend/cuda/, native/addon/cuda/
  # and plugins/<family>/cuda/.
  # CMakeLists.txt (cmake-js) is the full build, CUDA included where found.
  "targets": [
    {
      "target_name": "inferrt",
      "sources": ["<!@(node scripts/list-sources.cjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "plugins",
        "."
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "INFERRT_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] }
      }
    }
  ]
}
