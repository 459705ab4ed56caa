// Fuzz target: the input is a bare data.pkl, wrapped in a well-formed torch archive with
// fixed storages and fed to load_torch_state_dict: mutations go to the restricted unpickler.
// Only af::Error may escape; see feed.h.
#include "feed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    af::fuzz::feed_torch_pickle(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const af::Error&) {
  }
  return 0;
}
