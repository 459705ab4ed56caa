// Error type of the native core. The core never calls exit()/abort(): every failure is an
// af::Error with a stable code, which the N-API layer turns into a typed JS error.
#pragma once
#include <stdexcept>
#include <string>

namespace af {

enum class ErrorCode {
  InvalidArgument,  // a value passed by the caller is wrong (type, range, shape)
  InvalidFile,      // a file exists but its content is malformed
  ShapeMismatch,    // tensor shapes disagree with the model configuration
  Io,               // a file cannot be opened, read or written
  Unsupported,      // valid input we do not handle (dtype, activation, ...)
  OutOfMemory,      // an allocation failed
  Internal,         // a bug: an invariant of ours broke
};

// Stable string used as `err.code` on the JS side.
inline const char* error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::InvalidArgument: return "ERR_AF_INVALID_ARGUMENT";
    case ErrorCode::InvalidFile: return "ERR_AF_INVALID_FILE";
    case ErrorCode::ShapeMismatch: return "ERR_AF_SHAPE_MISMATCH";
    case ErrorCode::Io: return "ERR_AF_IO";
    case ErrorCode::Unsupported: return "ERR_AF_UNSUPPORTED";
    case ErrorCode::OutOfMemory: return "ERR_AF_OUT_OF_MEMORY";
    case ErrorCode::Internal: return "ERR_AF_INTERNAL";
  }
  return "ERR_AF_INTERNAL";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

// Checks an internal invariant; a failure is our bug, reported rather than crashing.
#define AF_CHECK(cond, msg)                                                                  \
  do {                                                                                       \
    if (!(cond)) ::af::fail(::af::ErrorCode::Internal, std::string("internal check failed: ") + \
                                                           (msg) + " (" #cond ")");         \
  } while (0)

}  // namespace af
