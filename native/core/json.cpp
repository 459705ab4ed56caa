// Strict JSON parser and serializer (see json.h). The parser is recursive descent with an
// explicit depth bound; numbers keep their text, so integer accessors are exact.
#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <locale>
#include <sstream>
#include <unordered_map>

#include "errors.h"

namespace af {

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not well formed (RFC 3629
// table 3-7: the second byte's range excludes overlongs, surrogates and code points > U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;  // continuation byte, overlong lead (C0, C1) or > F4
  }
  if (s.size() - i < len) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  return len;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Short printable excerpt of a value for error messages (hostile input can be huge).
std::string excerpt(const std::string& text) {
  return text.size() <= 40 ? text : text.substr(0, 40) + "...";
}

// True if JSON number text has a decimal magnitude below 1 (used to tell underflow from
// overflow): the position of its first significant digit plus its exponent is negative.
[[maybe_unused]] bool is_tiny(const std::string& t) {
  size_t i = t[0] == '-' ? 1 : 0;
  int64_t magnitude = 0;  // decimal exponent of the first significant digit
  size_t dot = t.find('.');
  size_t exp = t.find_first_of("eE");
  size_t mant_end = exp == std::string::npos ? t.size() : exp;
  size_t int_end = dot == std::string::npos ? mant_end : dot;
  size_t first = t.find_first_of("123456789", i);
  if (first == std::string::npos || first >= mant_end) return true;  // zero
  if (first < int_end) magnitude = static_cast<int64_t>(int_end - first) - 1;
  else magnitude = -static_cast<int64_t>(first - int_end);
  if (exp != std::string::npos) {
    bool neg = t[exp + 1] == '-';
    int64_t e = 0;
    for (size_t k = exp + 1; k < t.size(); ++k)
      if (is_digit(t[k]) && e < 1000000000) e = e * 10 + (t[k] - '0');  // saturates
    magnitude += neg ? -e : e;
  }
  return magnitude < 0;
}

// Parses a double from JSON number text without depending on the C locale.
bool text_to_double(const std::string& text, double* out) {
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars reports underflow like overflow; a value too small for a double is zero.
    if (!is_tiny(text)) return false;
    *out = text[0] == '-' ? -0.0 : 0.0;
    return true;
  }
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
#else
  std::istringstream is(text);
  is.imbue(std::locale::classic());
  is >> *out;
  return !is.fail() && std::isfinite(*out);
#endif
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Parser

class JsonParser {
 public:
  JsonParser(std::string_view text, const std::string& what, const JsonParseOptions& opts)
      : s_(text), what_(what), opts_(opts) {}

  Json parse_document() {
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) error(pos_, "unexpected characters after the JSON value");
    return v;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  const std::string& what_;
  const JsonParseOptions& opts_;
  size_t values_ = 0;  // values parsed so far (bounded by opts_.max_values)

  [[noreturn]] void error(size_t at, const std::string& msg) const {
    fail(ErrorCode::InvalidFile, what_ + ": invalid JSON at byte " + std::to_string(at) + ": " + msg);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }

  std::string describe_here() const {
    if (at_end()) return "unexpected end of input";
    unsigned char c = static_cast<unsigned char>(peek());
    if (c >= 0x20 && c < 0x7F) return std::string("unexpected character '") + static_cast<char>(c) + "'";
    char buf[32];
    std::snprintf(buf, sizeof buf, "unexpected byte 0x%02X", c);
    return buf;
  }

  void skip_ws() {
    while (!at_end()) {
      char c = peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  void expect(char c) {
    if (at_end() || peek() != c) error(pos_, describe_here() + ", expected '" + std::string(1, c) + "'");
    ++pos_;
  }

  Json parse_value(int depth) {
    if (at_end()) error(pos_, "unexpected end of input, expected a value");
    if (++values_ > opts_.max_values)
      error(pos_, "more than " + std::to_string(opts_.max_values) + " values");
    switch (peek()) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': {
        Json v;
        v.v_ = parse_string();
        return v;
      }
      case 't': parse_literal("true"); return Json::from_bool(true);
      case 'f': parse_literal("false"); return Json::from_bool(false);
      case 'n': parse_literal("null"); return Json();
      default:
        if (peek() == '-' || is_digit(peek())) return parse_number();
        error(pos_, describe_here() + ", expected a value");
    }
  }

  void parse_literal(const char* word) {
    size_t n = std::strlen(word);
    if (s_.substr(pos_, n) != word) error(pos_, describe_here() + ", expected a value");
    pos_ += n;
  }

  void check_depth(int depth) const {
    if (depth > opts_.max_depth)
      error(pos_, "nesting deeper than " + std::to_string(opts_.max_depth) + " levels");
  }

  Json parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Json arr = Json::array();
    auto& items = std::get<Json::Array>(arr.v_);
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      skip_ws();
      if (!at_end() && peek() == ']') error(pos_, "trailing comma in array");
      items.push_back(parse_value(depth));
      skip_ws();
      if (at_end()) error(pos_, "unexpected end of input in array");
      if (peek() == ']') {
        ++pos_;
        return arr;
      }
      if (peek() != ',') error(pos_, describe_here() + ", expected ',' or ']'");
      ++pos_;
    }
  }

  Json parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Json obj = Json::object();
    auto& members = std::get<Json::Object>(obj.v_);
    // Key -> index, built once the object is large enough that a linear scan would be quadratic
    // (a safetensors header has one key per tensor).
    std::unordered_map<std::string, size_t> index;
    constexpr size_t kLinearLimit = 16;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      skip_ws();
      if (!at_end() && peek() == '}') error(pos_, "trailing comma in object");
      if (at_end() || peek() != '"') error(pos_, describe_here() + ", expected a string key");
      size_t key_pos = pos_;
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      Json value = parse_value(depth);

      size_t found = members.size();
      if (members.size() <= kLinearLimit) {
        for (size_t i = 0; i < members.size(); ++i)
          if (members[i].first == key) found = i;
      } else {
        if (index.empty())
          for (size_t i = 0; i < members.size(); ++i) index.emplace(members[i].first, i);
        auto it = index.find(key);
        if (it != index.end()) found = it->second;
      }
      if (found < members.size()) {
        if (opts_.reject_duplicate_keys) error(key_pos, "duplicate key \"" + excerpt(key) + "\"");
        members[found].second = std::move(value);  // last value wins, first position kept
      } else {
        if (!index.empty()) index.emplace(key, members.size());
        members.emplace_back(std::move(key), std::move(value));
      }

      skip_ws();
      if (at_end()) error(pos_, "unexpected end of input in object");
      if (peek() == '}') {
        ++pos_;
        return obj;
      }
      if (peek() != ',') error(pos_, describe_here() + ", expected ',' or '}'");
      ++pos_;
    }
  }

  uint32_t parse_hex4() {
    if (s_.size() - pos_ < 4) error(pos_, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[pos_ + k];
      uint32_t d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else error(pos_ + k, "invalid hex digit in \\u escape");
      v = v * 16 + d;
    }
    pos_ += 4;
    return v;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      // Copy the run of plain characters in one go.
      size_t run = pos_;
      while (run < s_.size()) {
        unsigned char c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      out.append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (at_end()) error(pos_, "unterminated string");
      unsigned char c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) error(pos_, "unescaped control character in string");
      if (c >= 0x80) {
        size_t n = utf8_sequence_length(s_, pos_);
        if (n == 0) error(pos_, "invalid UTF-8 in string");
        out.append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      // Backslash escape.
      size_t esc_pos = pos_;
      ++pos_;
      if (at_end()) error(pos_, "unterminated string");
      char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) error(esc_pos, "lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low surrogate.
            if (s_.substr(pos_, 2) != "\\u") error(esc_pos, "lone high surrogate in \\u escape");
            pos_ += 2;
            uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) error(esc_pos, "high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: error(esc_pos, "invalid escape sequence");
      }
    }
  }

  Json parse_number() {
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (at_end() || !is_digit(peek())) error(pos_, "expected a digit");
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && is_digit(peek())) error(start, "number with a leading zero");
    } else {
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (at_end() || !is_digit(peek())) error(pos_, "expected a digit after the decimal point");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) error(pos_, "expected a digit in the exponent");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    Json v;
    v.v_ = Json::Number{std::string(s_.substr(start, pos_ - start))};
    return v;
  }
};

Json Json::parse(std::string_view text, const std::string& what, const JsonParseOptions& opts) {
  return JsonParser(text, what, opts).parse_document();
}

// ---------------------------------------------------------------------------------------------
// Building

Json Json::from_bool(bool v) {
  Json j;
  j.v_ = v;
  return j;
}

Json Json::from_int64(int64_t v) {
  Json j;
  j.v_ = Number{std::to_string(v)};
  return j;
}

Json Json::from_uint64(uint64_t v) {
  Json j;
  j.v_ = Number{std::to_string(v)};
  return j;
}

Json Json::from_double(double v) {
  if (!std::isfinite(v)) fail(ErrorCode::InvalidArgument, "JSON cannot represent a non-finite number");
  Json j;
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that round-trips
  j.v_ = Number{std::string(buf, r.ptr)};
#else
  std::ostringstream os;
  os.imbue(std::locale::classic());
  os.precision(17);  // always round-trips, though not always the shortest
  os << v;
  j.v_ = Number{os.str()};
#endif
  return j;
}

Json Json::from_string(std::string v) {
  Json j;
  j.v_ = std::move(v);
  return j;
}

Json Json::array() {
  Json j;
  j.v_ = Array{};
  return j;
}

Json Json::object() {
  Json j;
  j.v_ = Object{};
  return j;
}

Json& Json::set(const std::string& key, Json value) {
  if (!is_object()) fail(ErrorCode::InvalidArgument, std::string("Json::set on a ") + type_name());
  for (auto& m : std::get<Object>(v_))
    if (m.first == key) {
      m.second = std::move(value);
      return *this;
    }
  std::get<Object>(v_).emplace_back(key, std::move(value));
  return *this;
}

Json& Json::add(std::string key, Json value) {
  if (!is_object()) fail(ErrorCode::InvalidArgument, std::string("Json::add on a ") + type_name());
  std::get<Object>(v_).emplace_back(std::move(key), std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  if (!is_array()) fail(ErrorCode::InvalidArgument, std::string("Json::push on a ") + type_name());
  std::get<Array>(v_).push_back(std::move(value));
  return *this;
}

// ---------------------------------------------------------------------------------------------
// Inspecting

const char* Json::type_name() const {
  switch (type()) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

namespace {
[[noreturn]] void wrong_type(const std::string& what, const char* expected, const Json& got) {
  fail(ErrorCode::InvalidFile, what + ": expected " + expected + ", got " + got.type_name());
}

// Splits integer text into sign and magnitude; false if it has a fraction/exponent or the
// magnitude exceeds 2^64-1.
enum class IntParse { Ok, NotInteger, TooLarge };
IntParse parse_integer_text(const std::string& t, bool* negative, uint64_t* magnitude) {
  size_t i = 0;
  *negative = !t.empty() && t[0] == '-';
  if (*negative) ++i;
  if (t.find_first_of(".eE") != std::string::npos) return IntParse::NotInteger;
  uint64_t m = 0;
  for (; i < t.size(); ++i) {
    uint64_t d = static_cast<uint64_t>(t[i] - '0');
    if (m > (UINT64_MAX - d) / 10) return IntParse::TooLarge;
    m = m * 10 + d;
  }
  *magnitude = m;
  return IntParse::Ok;
}
}  // namespace

bool Json::as_bool(const std::string& what) const {
  if (!is_bool()) wrong_type(what, "a boolean", *this);
  return std::get<bool>(v_);
}

const std::string& Json::number_text() const {
  if (!is_number()) fail(ErrorCode::InvalidArgument, std::string("number_text on a ") + type_name());
  return std::get<Number>(v_).text;
}

double Json::as_double(const std::string& what) const {
  if (!is_number()) wrong_type(what, "a number", *this);
  const std::string& t = std::get<Number>(v_).text;
  double d = 0;
  if (!text_to_double(t, &d))
    fail(ErrorCode::InvalidFile, what + ": number " + excerpt(t) + " is out of the range of a double");
  return d;
}

int64_t Json::as_int64(const std::string& what) const {
  if (!is_number()) wrong_type(what, "an integer", *this);
  const std::string& t = std::get<Number>(v_).text;
  bool neg = false;
  uint64_t m = 0;
  IntParse r = parse_integer_text(t, &neg, &m);
  if (r == IntParse::NotInteger) fail(ErrorCode::InvalidFile, what + ": expected an integer, got " + excerpt(t));
  const uint64_t limit = neg ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
  if (r == IntParse::TooLarge || m > limit)
    fail(ErrorCode::InvalidFile, what + ": integer " + excerpt(t) + " is out of the 64-bit signed range");
  return neg ? static_cast<int64_t>(0 - m) : static_cast<int64_t>(m);
}

uint64_t Json::as_uint64(const std::string& what) const {
  if (!is_number()) wrong_type(what, "a non-negative integer", *this);
  const std::string& t = std::get<Number>(v_).text;
  bool neg = false;
  uint64_t m = 0;
  IntParse r = parse_integer_text(t, &neg, &m);
  if (r == IntParse::NotInteger)
    fail(ErrorCode::InvalidFile, what + ": expected a non-negative integer, got " + excerpt(t));
  if (neg)  // even "-0", which serde_json (the reference safetensors parser) rejects for usize
    fail(ErrorCode::InvalidFile, what + ": expected a non-negative integer, got " + excerpt(t));
  if (r == IntParse::TooLarge)
    fail(ErrorCode::InvalidFile, what + ": integer " + excerpt(t) + " is out of the 64-bit unsigned range");
  return m;
}

bool Json::try_int64(int64_t* out) const {
  if (!is_number()) return false;
  bool neg = false;
  uint64_t m = 0;
  if (parse_integer_text(std::get<Number>(v_).text, &neg, &m) != IntParse::Ok) return false;
  if (m > (neg ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX))) return false;
  *out = neg ? static_cast<int64_t>(0 - m) : static_cast<int64_t>(m);
  return true;
}

bool Json::try_uint64(uint64_t* out) const {
  if (!is_number()) return false;
  bool neg = false;
  uint64_t m = 0;
  if (parse_integer_text(std::get<Number>(v_).text, &neg, &m) != IntParse::Ok || neg) return false;
  *out = m;
  return true;
}

const std::string& Json::as_string(const std::string& what) const {
  if (!is_string()) wrong_type(what, "a string", *this);
  return std::get<std::string>(v_);
}

const Json::Array& Json::as_array(const std::string& what) const {
  if (!is_array()) wrong_type(what, "an array", *this);
  return std::get<Array>(v_);
}

const Json::Object& Json::as_object(const std::string& what) const {
  if (!is_object()) wrong_type(what, "an object", *this);
  return std::get<Object>(v_);
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& m : std::get<Object>(v_))
    if (m.first == key) return &m.second;
  return nullptr;
}

size_t Json::size() const {
  if (is_array()) return std::get<Array>(v_).size();
  if (is_object()) return std::get<Object>(v_).size();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Dumping

namespace {
void dump_string(std::string& out, const std::string& s) {
  if (!is_valid_utf8(s))
    fail(ErrorCode::InvalidArgument, "JSON string \"" + excerpt(s) + "\" is not valid UTF-8");
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // includes UTF-8 bytes as they are
        }
    }
  }
  out += '"';
}
}  // namespace

void Json::dump_to(std::string& out) const {
  switch (type()) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += std::get<bool>(v_) ? "true" : "false"; break;
    case Type::Number: out += std::get<Number>(v_).text; break;
    case Type::String: dump_string(out, std::get<std::string>(v_)); break;
    case Type::Array: {
      out += '[';
      bool first = true;
      for (const auto& e : std::get<Array>(v_)) {
        if (!first) out += ',';
        first = false;
        e.dump_to(out);
      }
      out += ']';
      break;
    }
    case Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& m : std::get<Object>(v_)) {
        if (!first) out += ',';
        first = false;
        dump_string(out, m.first);
        out += ':';
        m.second.dump_to(out);
      }
      out += '}';
      break;
    }
  }
}

std::string Json::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

std::string quote_for_message(std::string_view s) {
  const bool utf8 = is_valid_utf8(s);
  constexpr size_t kMax = 200;
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= kMax) {
      // Finish the character; in invalid UTF-8 the rest would be raw bytes, not a character.
      while (utf8 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) out += s[i++];
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace af
