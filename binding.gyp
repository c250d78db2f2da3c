{
  "targets": [
    {
      "target_name": "reactor_threads",
      "sources": [
        "native/addon.cc",
        "native/batch.cc",
        "native/bindings.cc",
        "native/bridge.cc",
        "native/bridge_bindings.cc",
        "native/env_state.cc",
        "native/loop_watch.cc",
        "native/pool.cc",
        "native/pool_bindings.cc",
        "native/reactor.cc",
        "native/reactor_bindings.cc",
        "native/registry.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: in a Worker torn down while
      # it loads the addon (process.exit() as pool threads start), a throw
      # that N-API cannot make is dropped instead of aborting the process.
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # Source builds where no prebuild serves (the prebuilds: Linux with
      # prebuildify, win32-x64 with scripts/win32.sh).
      "msvs_settings": {
        "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"], "ExceptionHandling": 1 }
      },
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      }
    }
  ]
}
