{
  "targets": [
    {
      "target_name": "privcmd_shim",
      "sources": [
        "native/binding.cc",
        "native/device_binding.cc",
        "native/evtchn_binding.cc",
        "native/mapping_binding.cc",
        "<!@(node -p \"require('fs').readdirSync('native/core').filter(f => f.endsWith('.cc')).map(f => 'native/core/' + f).join(' ')\")"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wconversion", "-Wno-sign-conversion", "-O2"]
    }
  ]
}
