// Turning native failures into JS errors. Every error carries `code` (ERR_AF_*); lib/errors.ts
// maps codes to the typed error classes users catch.
#pragma once
#include <napi.h>

#include <string>

#include "../core/errors.h"

namespace af::napi {

// A JS Error with .code set; TypeError for ErrorCode::InvalidArgument raised from argument
// checks (see type_error).
Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);

// Runs fn, converting af::Error / std::bad_alloc / std::exception into thrown JS errors.
template <typename F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw make_error(env, error_code_name(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    throw make_error(env, "ERR_AF_OUT_OF_MEMORY", "out of memory");
  } catch (const std::exception& e) {
    throw make_error(env, "ERR_AF_INTERNAL", e.what());
  }
}

// Throws a TypeError naming the argument: `<name> must be <expected>`.
[[noreturn]] void type_error(Napi::Env env, const std::string& name, const std::string& expected);

}  // namespace af::napi
