// Fuzz target: the input is a ZIP archive, fed to ZipReader::open (end records, ZIP64, central
// directory, local headers); every stored entry is then read whole and in part.
// Only af::Error may escape; see feed.h.
#include "feed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    af::fuzz::feed_zip(af::fuzz::as_file(data, size));
  } catch (const af::Error&) {
  }
  return 0;
}
