// Fuzz target: the input is a whole PyTorch .bin file (ZIP + data.pkl + storages), fed to
// load_torch_state_dict; every tensor is then read raw and as float32.
// Only af::Error may escape; see feed.h.
#include "feed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    af::fuzz::feed_torch_bin(af::fuzz::as_file(data, size));
  } catch (const af::Error&) {
  }
  return 0;
}
