// Fuzz target: the input is JSON text, fed to Json::parse with config.json's options and with
// a safetensors header's; each result is walked with every accessor and must round-trip
// dump(). The raw text also goes through quote_for_message (names in error messages).
// Only af::Error may escape; see feed.h.
#include "feed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    af::fuzz::feed_json(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const af::Error&) {
  }
  return 0;
}
