// Tests for the strict JSON parser/serializer (native/core/json.h): every RFC 8259 rule we
// enforce has an accept case and a reject case, plus exact integers and dump/parse round trips.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "../core/errors.h"
#include "../core/json.h"
#include "check.h"

using af::ErrorCode;
using af::Json;

namespace {

const std::string kWhat = "test.json";

Json parse(const std::string& s, bool reject_dups = false) {
  af::JsonParseOptions o;
  o.reject_duplicate_keys = reject_dups;
  return Json::parse(s, kWhat, o);
}

// Runs f, which must throw af::Error with `code`; returns the message.
template <class F>
std::string error_of(F&& f, ErrorCode code, const char* file, int line) {
  try {
    f();
  } catch (const af::Error& e) {
    if (e.code() != code) af::test::fail_at(file, line, std::string("wrong error code, message: ") + e.what());
    return e.what();
  }
  af::test::fail_at(file, line, "expected an af::Error");
}
#define ERROR_OF(stmt, code) error_of([&] { stmt; }, code, __FILE__, __LINE__)

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Each input must be rejected with an InvalidFile naming the source and a byte offset.
void expect_reject(const std::string& text, const char* file, int line) {
  std::string msg = error_of([&] { parse(text); }, ErrorCode::InvalidFile, file, line);
  if (!contains(msg, "test.json: invalid JSON at byte "))
    af::test::fail_at(file, line, "message lacks source/offset: " + msg);
}
#define REJECT(text) expect_reject(text, __FILE__, __LINE__)

}  // namespace

AF_TEST("json: literals, numbers, strings, containers parse") {
  CHECK(parse("null").is_null());
  CHECK(parse("true").as_bool() == true);
  CHECK(parse("false").as_bool() == false);
  CHECK(parse(" \t\r\n 42 \n").as_int64() == 42);
  CHECK(parse("0").as_int64() == 0);
  CHECK(parse("-0").as_double() == 0.0);
  CHECK(parse("-1.25").as_double() == -1.25);
  CHECK(parse("1.5e10").as_double() == 1.5e10);
  CHECK(parse("1E-2").as_double() == 0.01);
  CHECK(parse("2e+3").as_double() == 2000.0);
  CHECK(parse("\"\"").as_string().empty());
  CHECK(parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(parse(R"("\u00e9\u4E2D")").as_string() == "\xC3\xA9\xE4\xB8\xAD");
  CHECK(parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");  // surrogate pair
  CHECK(parse(R"("\u0000")").as_string() == std::string(1, '\0'));
  CHECK(parse("\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\"").as_string() ==
        "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");  // raw UTF-8 up to U+10FFFF
  CHECK(parse("[]").as_array().empty());
  CHECK(parse("{}").as_object().empty());
  Json v = parse(R"({"b": [1, {"c": null}], "a": "x"})");
  CHECK(v.size() == 2);
  CHECK(v.as_object()[0].first == "b");  // insertion order kept
  CHECK(v.as_object()[1].first == "a");
  CHECK(v.find("b")->as_array()[1].find("c")->is_null());
  CHECK(v.find("a")->as_string() == "x");
  CHECK(v.find("zz") == nullptr);
  CHECK(parse("1").find("a") == nullptr);
}

AF_TEST("json: rejects malformed syntax") {
  REJECT("");
  REJECT("   ");
  REJECT("[1,]");
  REJECT("{\"a\":1,}");
  REJECT("[,1]");
  REJECT("{,}");
  REJECT("// c\n1");
  REJECT("/* c */ 1");
  REJECT("[1 /* c */]");
  REJECT("1 # c");
  REJECT("1 2");
  REJECT("{}x");
  REJECT("[]]");
  REJECT("[1");
  REJECT("[1 2]");
  REJECT("{\"a\"");
  REJECT("{\"a\":");
  REJECT("{\"a\" 1}");
  REJECT("{1:2}");
  REJECT("{a:2}");
  REJECT("'a'");
  REJECT("tru");
  REJECT("nul");
  REJECT("True");
  REJECT("nulll");
  REJECT("\xEF\xBB\xBF{}");  // a BOM is not JSON
}

AF_TEST("json: rejects malformed numbers") {
  for (const char* s : {"01", "-01", "00", "+1", ".5", "1.", "1.e5", "1e", "1e+", "-", "--1", "NaN", "Infinity",
                        "-Infinity", "0x10", "1_000", "1.5.2"})
    REJECT(s);
}

AF_TEST("json: rejects bad strings, escapes and surrogates") {
  REJECT("\"abc");
  REJECT("\"a\tb\"");  // raw control characters must be escaped
  REJECT("\"a\nb\"");
  REJECT(std::string("\"a") + '\0' + "b\"");
  REJECT(R"("\x41")");
  REJECT(R"("\u12")");
  REJECT(R"("\u12G4")");
  REJECT(R"("\ud800")");         // lone high surrogate
  REJECT(R"("\udc00")");         // lone low surrogate
  REJECT(R"("\ud800\u0041")");   // high followed by a non-surrogate
  REJECT(R"("\ud800\ud800")");   // high followed by high
  REJECT(R"("\ud800x")");
  REJECT("\"\\");
}

AF_TEST("json: rejects invalid UTF-8 in strings") {
  for (const char* s : {
           "\"\xC0\xAF\"",              // overlong '/'
           "\"\xC1\xBF\"",              // overlong
           "\"\xE0\x80\xAF\"",          // overlong 3-byte
           "\"\xF0\x80\x80\xAF\"",      // overlong 4-byte
           "\"\xED\xA0\x80\"",          // UTF-16 surrogate encoded in UTF-8
           "\"\xED\xBF\xBF\"",
           "\"\xF4\x90\x80\x80\"",      // > U+10FFFF
           "\"\xF5\x80\x80\x80\"",      // lead byte > F4
           "\"\xFF\"",
           "\"\x80\"",                  // stray continuation
           "\"\xE4\xB8\"",              // truncated sequence
           "\"\xE4\xB8x\"",
       })
    REJECT(s);
  CHECK(af::is_valid_utf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  CHECK(af::is_valid_utf8(""));
  CHECK(!af::is_valid_utf8("\xC0\xAF"));
  CHECK(!af::is_valid_utf8("\xED\xA0\x80"));
  CHECK(!af::is_valid_utf8("\xF4\x90\x80\x80"));
  CHECK(!af::is_valid_utf8("ab\xE4\xB8"));
  CHECK(!af::is_valid_utf8("\xF8\x88\x80\x80\x80"));
}

AF_TEST("json: error message gives the byte offset") {
  std::string msg = ERROR_OF(parse("[1,]"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "test.json: invalid JSON at byte 3: trailing comma"), msg);
  msg = ERROR_OF(parse("{\"a\": 01}"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "at byte 6: number with a leading zero"), msg);
  msg = ERROR_OF(parse("[\"\xFF\"]"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "at byte 2: invalid UTF-8"), msg);
}

AF_TEST("json: nesting depth is bounded") {
  std::string ok = std::string(128, '[') + std::string(128, ']');
  CHECK(parse(ok).is_array());
  std::string deep = std::string(129, '[') + std::string(129, ']');
  std::string msg = ERROR_OF(parse(deep), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "nesting deeper than 128"), msg);
  // Hostile input far deeper than the stack would allow is rejected, not a crash.
  ERROR_OF(parse(std::string(1000000, '[')), ErrorCode::InvalidFile);
  std::string objs;
  for (int i = 0; i < 200; ++i) objs += "{\"a\":";
  ERROR_OF(parse(objs), ErrorCode::InvalidFile);
  af::JsonParseOptions o;
  o.max_depth = 2;
  CHECK(Json::parse("[[1]]", kWhat, o).is_array());
  ERROR_OF(Json::parse("[[[1]]]", kWhat, o), ErrorCode::InvalidFile);
}

AF_TEST("json: duplicate keys keep the last value or are rejected") {
  Json v = parse(R"({"a": 1, "b": 2, "a": 3})");
  CHECK(v.size() == 2);
  CHECK(v.as_object()[0].first == "a");
  CHECK(v.find("a")->as_int64() == 3);
  std::string msg = ERROR_OF(parse(R"({"a": 1, "b": 2, "a": 3})", true), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "duplicate key \"a\""), msg);
  CHECK_MSG(contains(msg, "at byte 17"), msg);
  // Large objects use an index; check the same behaviour there.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  CHECK(parse(big + "\"last\": 0}", true).size() == 101);
  std::string dup = big + "\"k42\": 7}";
  CHECK(parse(dup).find("k42")->as_int64() == 7);
  CHECK(parse(dup).size() == 100);
  msg = ERROR_OF(parse(dup, true), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "duplicate key \"k42\""), msg);
  // Distinct keys that only differ after an escape are not duplicates; equal ones are.
  CHECK(parse(R"({"a": 1, "\u0061b": 2})", true).size() == 2);
  ERROR_OF(parse(R"({"a": 1, "\u0061": 2})", true), ErrorCode::InvalidFile);
}

AF_TEST("json: integers convert exactly from their text") {
  CHECK(parse("9007199254740993").as_int64() == 9007199254740993LL);  // 2^53 + 1
  CHECK(parse("9007199254740993").as_uint64() == 9007199254740993ULL);
  CHECK(parse("9223372036854775807").as_int64() == std::numeric_limits<int64_t>::max());
  CHECK(parse("-9223372036854775808").as_int64() == std::numeric_limits<int64_t>::min());
  CHECK(parse("18446744073709551615").as_uint64() == std::numeric_limits<uint64_t>::max());
  ERROR_OF(parse("-0").as_uint64(), ErrorCode::InvalidFile);  // serde_json rejects it too
  CHECK(parse("-0").as_int64() == 0);

  std::string msg = ERROR_OF(parse("9223372036854775808").as_int64("cfg.json: \"n\""), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "cfg.json: \"n\": integer 9223372036854775808 is out of"), msg);
  ERROR_OF(parse("-9223372036854775809").as_int64(), ErrorCode::InvalidFile);
  msg = ERROR_OF(parse("18446744073709551616").as_uint64("off"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "off: integer 18446744073709551616 is out of"), msg);
  ERROR_OF(parse("99999999999999999999999999").as_uint64(), ErrorCode::InvalidFile);
  msg = ERROR_OF(parse("-1").as_uint64("dim"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "dim: expected a non-negative integer, got -1"), msg);
  ERROR_OF(parse("-18446744073709551617").as_uint64(), ErrorCode::InvalidFile);
  msg = ERROR_OF(parse("1.0").as_int64("dim"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "dim: expected an integer, got 1.0"), msg);
  ERROR_OF(parse("1e2").as_uint64(), ErrorCode::InvalidFile);
  ERROR_OF(parse("1.5").as_uint64(), ErrorCode::InvalidFile);

  // Non-throwing forms agree with the throwing ones.
  int64_t i = 0;
  uint64_t u = 0;
  CHECK(parse("-9223372036854775808").try_int64(&i) && i == std::numeric_limits<int64_t>::min());
  CHECK(parse("18446744073709551615").try_uint64(&u) && u == std::numeric_limits<uint64_t>::max());
  CHECK(!parse("9223372036854775808").try_int64(&i));
  CHECK(!parse("18446744073709551616").try_uint64(&u));
  CHECK(!parse("-1").try_uint64(&u));
  CHECK(!parse("-0").try_uint64(&u));
  CHECK(!parse("2.0").try_int64(&i));
  CHECK(!parse("\"7\"").try_uint64(&u));
  CHECK(!parse("null").try_int64(&i));
}

AF_TEST("json: doubles and their range") {
  CHECK(parse("1e308").as_double() == 1e308);
  CHECK(parse("4.9e-324").as_double() == std::numeric_limits<double>::denorm_min());
  CHECK(parse("1e-400").as_double() == 0.0);
  CHECK(std::signbit(parse("-1e-400").as_double()));
  CHECK(parse("0.0000000000000000000000000000000000000000000000000001e-300").as_double() == 0.0);
  CHECK(parse("123456789012345678901234567890").as_double() == 123456789012345678901234567890.0);
  std::string msg = ERROR_OF(parse("1e400").as_double("cfg: eps"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "cfg: eps: number 1e400 is out of the range of a double"), msg);
  ERROR_OF(parse("-1e400").as_double(), ErrorCode::InvalidFile);
  ERROR_OF(parse("0.001e99999999999999999999").as_double(), ErrorCode::InvalidFile);
}

AF_TEST("json: accessors name the value on a type mismatch") {
  Json v = parse(R"({"s": "x", "n": 1, "a": [], "o": {}, "b": true, "z": null})");
  std::string msg = ERROR_OF(v.find("s")->as_int64("config.json: \"s\""), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "config.json: \"s\": expected an integer, got string"), msg);
  msg = ERROR_OF(v.find("n")->as_string("k"), ErrorCode::InvalidFile);
  CHECK_MSG(contains(msg, "k: expected a string, got number"), msg);
  ERROR_OF(v.find("a")->as_object(), ErrorCode::InvalidFile);
  ERROR_OF(v.find("o")->as_array(), ErrorCode::InvalidFile);
  ERROR_OF(v.find("z")->as_bool(), ErrorCode::InvalidFile);
  ERROR_OF(v.find("b")->as_double(), ErrorCode::InvalidFile);
  ERROR_OF(v.find("b")->as_uint64(), ErrorCode::InvalidFile);
  CHECK(v.find("n")->number_text() == "1");
  ERROR_OF(v.find("s")->number_text(), ErrorCode::InvalidArgument);
  CHECK(std::strcmp(v.find("o")->type_name(), "object") == 0);
}

AF_TEST("json: builders and dump") {
  Json v = Json::object();
  v.set("name", Json::from_string("bert"))
      .set("layers", Json::from_int64(4))
      .set("big", Json::from_uint64(std::numeric_limits<uint64_t>::max()))
      .set("neg", Json::from_int64(std::numeric_limits<int64_t>::min()))
      .set("eps", Json::from_double(1e-12))
      .set("ok", Json::from_bool(true))
      .set("none", Json());
  v.set("layers", Json::from_int64(6));  // replaces in place
  Json arr = Json::array();
  arr.push(Json::from_double(0.1)).push(Json::from_double(-0.0)).push(Json::from_double(1e21)).push(Json::object());
  v.add("arr", std::move(arr));
  CHECK_MSG(v.dump() == R"({"name":"bert","layers":6,"big":18446744073709551615,"neg":-9223372036854775808,)"
                        R"("eps":1e-12,"ok":true,"none":null,"arr":[0.1,-0,1e+21,{}]})",
            v.dump());
  CHECK(Json::from_double(1.0).dump() == "1");
  CHECK(Json::from_double(0.30000000000000004).dump() == "0.30000000000000004");
  ERROR_OF(Json::from_double(INFINITY), ErrorCode::InvalidArgument);
  ERROR_OF(Json::from_double(NAN), ErrorCode::InvalidArgument);
  ERROR_OF(Json::from_int64(1).set("a", Json()), ErrorCode::InvalidArgument);
  ERROR_OF(Json::object().push(Json()), ErrorCode::InvalidArgument);
}

AF_TEST("json: strings are escaped on dump, UTF-8 kept") {
  std::string s = std::string("q\"b\\s/\b\f\n\r\t\x01\x1F\x7F") + '\0' + "\xC3\xA9\xF0\x9F\x98\x80";
  std::string d = Json::from_string(s).dump();
  CHECK_MSG(d == "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7F\\u0000\xC3\xA9\xF0\x9F\x98\x80\"", d);
  CHECK(parse(d).as_string() == s);
  std::string msg = ERROR_OF(Json::from_string("bad \xFF").dump(), ErrorCode::InvalidArgument);
  CHECK_MSG(contains(msg, "not valid UTF-8"), msg);
  Json o = Json::object();
  o.add("k\xC0\xAF", Json());
  ERROR_OF(o.dump(), ErrorCode::InvalidArgument);
}

AF_TEST("json: dump/parse round trip") {
  const std::string text =
      R"({"a":[1,-2,3.5,-0.0001,1e-7,18446744073709551615,-9223372036854775808,true,false,null],)"
      R"("s":"\u00e9\ud83d\ude00\n","nested":{"x":{"y":[[],{}]}},"": ""})";
  Json v = parse(text);
  std::string d = v.dump();
  Json w = parse(d);
  CHECK(w.dump() == d);
  CHECK(w.find("a")->as_array()[5].as_uint64() == std::numeric_limits<uint64_t>::max());
  CHECK(w.find("a")->as_array()[3].number_text() == "-0.0001");  // number text kept verbatim
  CHECK(w.find("s")->as_string() == "\xC3\xA9\xF0\x9F\x98\x80\n");
  CHECK(w.find("")->as_string().empty());

  // Doubles written by from_double parse back to the same bits.
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double x;
    std::memcpy(&x, &bits, 8);
    if (!std::isfinite(x)) continue;
    double y = parse(Json::from_double(x).dump()).as_double();
    CHECK_MSG(std::memcmp(&x, &y, 8) == 0, "double " << x << " did not round trip");
  }
  for (double x : {0.1, 1.0 / 3.0, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 123456.789}) {
    double y = parse(Json::from_double(x).dump()).as_double();
    CHECK(std::memcmp(&x, &y, 8) == 0);
  }
}
