// A minimal test harness for the native tests (no framework dependency). Each test file
// registers cases with AF_TEST(name); test_main.cpp runs them (optionally filtered by a
// substring given on the command line) and prints "N passed, N failed".
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace af::test {

struct Case {
  const char* name;
  std::function<void()> fn;
};

std::vector<Case>& registry();

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

// Thrown by failed checks; caught by the runner, which marks the case failed.
struct Failure {
  std::string message;
};

[[noreturn]] inline void fail_at(const char* file, int line, const std::string& what) {
  std::ostringstream os;
  os << file << ":" << line << ": " << what;
  throw Failure{os.str()};
}

inline double rms(const float* x, size_t n) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  return n ? std::sqrt(ss / n) : 0.0;
}

// max over i of |a-b| / (|b| + scale), scale = max(rms(b), floor): tiny reference values
// compare against the tensor's magnitude, not zero; `floor` serves tensors whose reference is
// zero up to round-off (e.g. the key-bias gradient, analytically 0).
inline double max_rel_error(const float* a, const float* b, size_t n, double floor = 0.0) {
  double scale = rms(b, n);
  if (scale < floor) scale = floor;
  if (scale == 0) scale = 1e-30;
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = std::fabs(double(a[i]) - b[i]) / (std::fabs(double(b[i])) + scale);
    if (!(e <= worst)) worst = e;  // NaN propagates as failure
  }
  return worst;
}

}  // namespace af::test

#define AF_TEST_CONCAT2(a, b) a##b
#define AF_TEST_CONCAT(a, b) AF_TEST_CONCAT2(a, b)
#define AF_TEST(name)                                                                  \
  static void AF_TEST_CONCAT(af_test_fn_, __LINE__)();                                 \
  static ::af::test::Registrar AF_TEST_CONCAT(af_test_reg_, __LINE__)(                 \
      name, AF_TEST_CONCAT(af_test_fn_, __LINE__));                                    \
  static void AF_TEST_CONCAT(af_test_fn_, __LINE__)()

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) ::af::test::fail_at(__FILE__, __LINE__, "CHECK(" #cond ") failed");  \
  } while (0)

#define CHECK_MSG(cond, msg)                                                           \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::ostringstream af_os_;                                                       \
      af_os_ << "CHECK(" #cond ") failed: " << msg;                                    \
      ::af::test::fail_at(__FILE__, __LINE__, af_os_.str());                           \
    }                                                                                  \
  } while (0)

// Checks max_rel_error(a, b, n) <= tol.
#define CHECK_CLOSE(a, b, n, tol)                                                      \
  do {                                                                                 \
    double af_e_ = ::af::test::max_rel_error((a), (b), (n));                           \
    CHECK_MSG(af_e_ <= (tol), "max rel error " << af_e_ << " > " << (tol));            \
  } while (0)

// Checks that `stmt` throws af::Error with the given code.
#define CHECK_THROWS_CODE(stmt, expected_code)                                         \
  do {                                                                                 \
    bool af_thrown_ = false;                                                           \
    try {                                                                              \
      stmt;                                                                            \
    } catch (const ::af::Error& af_e_) {                                               \
      af_thrown_ = true;                                                               \
      CHECK_MSG(af_e_.code() == (expected_code), "wrong error code, message: " << af_e_.what()); \
    }                                                                                  \
    CHECK_MSG(af_thrown_, "expected an af::Error from " #stmt);                        \
  } while (0)
