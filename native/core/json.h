// A small strict JSON (RFC 8259) value: parse, inspect, build, dump. Used for safetensors
// headers, config.json and adapter configs, so parsing is strict and safe on hostile input:
// valid UTF-8 only, no comments or trailing commas, bounded nesting, and numbers kept as their
// original text so 64-bit integers (safetensors offsets) convert exactly.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace af {

struct JsonParseOptions {
  // safetensors rejects duplicate keys; config.json keeps the last value (as Python does).
  bool reject_duplicate_keys = false;
  // Arrays/objects nested deeper than this are an error, so input cannot exhaust the stack.
  int max_depth = 128;
  // More values than this are an error, so input cannot make the parsed tree (~40 bytes per
  // value) arbitrarily large.
  size_t max_values = SIZE_MAX;
};

// True iff `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing > U+10FFFF).
bool is_valid_utf8(std::string_view s);

// A name for error messages: quoted, control characters and invalid UTF-8 escaped, cut at
// ~200 bytes so a hostile 100 MB name does not become a 100 MB message.
std::string quote_for_message(std::string_view s);

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Json>;
  using Member = std::pair<std::string, Json>;
  using Object = std::vector<Member>;  // insertion order is kept

  Json() = default;  // null

  // ---- building ----
  static Json from_bool(bool v);
  static Json from_int64(int64_t v);
  static Json from_uint64(uint64_t v);
  static Json from_double(double v);  // must be finite (JSON has no inf/NaN): else InvalidArgument
  static Json from_string(std::string v);
  static Json array();
  static Json object();

  // Object: replaces the value of an existing key, else appends. Returns *this for chaining.
  Json& set(const std::string& key, Json value);
  // Object: appends without looking for an existing key (the caller guarantees uniqueness;
  // `set` is linear per call, this is O(1)).
  Json& add(std::string key, Json value);
  // Array: appends.
  Json& push(Json value);

  // ---- parsing ----
  // Throws Error(InvalidFile, what + ": invalid JSON at byte N: ...").
  static Json parse(std::string_view text, const std::string& what, const JsonParseOptions& opts = {});

  // ---- inspecting ----
  Type type() const { return static_cast<Type>(v_.index()); }
  const char* type_name() const;  // "null", "boolean", "number", "string", "array", "object"
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }

  // Typed access. A wrong type or an unrepresentable number throws Error(InvalidFile, what + ": ...")
  // so callers name the file and key in `what`.
  bool as_bool(const std::string& what = "JSON value") const;
  double as_double(const std::string& what = "JSON value") const;  // out of double range: error
  // Integers must be written as integers (no fraction, no exponent, as serde_json requires) and
  // fit the type exactly; the original text is converted, never a rounded double.
  int64_t as_int64(const std::string& what = "JSON value") const;
  uint64_t as_uint64(const std::string& what = "JSON value") const;
  // Non-throwing forms for hot loops: false where as_int64/as_uint64 would throw.
  bool try_int64(int64_t* out) const;
  bool try_uint64(uint64_t* out) const;
  const std::string& as_string(const std::string& what = "JSON value") const;
  const Array& as_array(const std::string& what = "JSON value") const;
  const Object& as_object(const std::string& what = "JSON value") const;
  const std::string& number_text() const;  // a number's JSON text; InvalidArgument otherwise

  // Object member by key (first match), or nullptr if absent or this is not an object.
  const Json* find(std::string_view key) const;
  // Elements of an array / members of an object; 0 for other types.
  size_t size() const;

  // Compact JSON. Strings must be valid UTF-8 (else InvalidArgument); non-ASCII is written as
  // UTF-8, control characters escaped. Numbers are written as their text: integers exactly,
  // doubles in the shortest form that parses back to the same value.
  std::string dump() const;

 private:
  struct Number {
    std::string text;  // validated JSON number syntax
  };
  // Index order must match Type.
  std::variant<std::monostate, bool, Number, std::string, Array, Object> v_;

  friend class JsonParser;
  void dump_to(std::string& out) const;
};

}  // namespace af
