// Fuzz target: the input is JSON text; the document and its "config" member are fed to
// BertConfig, AdapterConfig, FusionConfig and HeadConfig::from_json, and what parses is used.
// Only af::Error may escape; see feed.h.
#include "feed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    af::fuzz::feed_config(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const af::Error&) {
  }
  return 0;
}
