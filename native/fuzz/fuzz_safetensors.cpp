// Fuzz target: the input is a whole .safetensors file, fed to SafetensorsFile::open
// (header length, JSON header, entries, tiling); every tensor is then read raw and as float32.
// Only af::Error may escape; see feed.h.
#include "feed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    af::fuzz::feed_safetensors(af::fuzz::as_file(data, size));
  } catch (const af::Error&) {
  }
  return 0;
}
