// Runs the registered native test cases. Usage: af_native_tests [substring-filter]
#include <cstring>
#include <exception>

#include "../core/errors.h"
#include "check.h"

namespace af::test {
std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
}  // namespace af::test

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0;
  for (const auto& c : af::test::registry()) {
    if (filter && !std::strstr(c.name, filter)) continue;
    try {
      c.fn();
      ++passed;
      std::printf("ok - %s\n", c.name);
    } catch (const af::test::Failure& f) {
      ++failed;
      std::printf("not ok - %s\n  %s\n", c.name, f.message.c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("not ok - %s\n  unexpected exception: %s\n", c.name, e.what());
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
