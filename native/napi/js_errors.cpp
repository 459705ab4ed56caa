#include "js_errors.h"

namespace af::napi {

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void type_error(Napi::Env env, const std::string& name, const std::string& expected) {
  Napi::TypeError err = Napi::TypeError::New(env, name + " must be " + expected);
  err.Set("code", Napi::String::New(env, "ERR_AF_INVALID_ARGUMENT"));
  throw err;
}

}  // namespace af::napi
