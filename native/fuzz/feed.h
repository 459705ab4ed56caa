// What each fuzz target does with one input, shared with native/test/test_fuzz_regressions.cpp
// so saved crashers replay through exactly the same calls. Each function parses, then uses the
// result the way the library does (reads every tensor, sizes every layer). A malformed input
// must end in af::Error; anything else escaping (another exception, a sanitizer report, a
// crash) is a finding. A broken invariant of our own is thrown as std::logic_error.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/adapter_config.h"
#include "../core/bert_config.h"
#include "../core/errors.h"
#include "../core/head.h"
#include "../core/json.h"
#include "../core/safetensors.h"
#include "../core/torch_pickle.h"
#include "../core/zip_reader.h"
#include "fuzz_input.h"

namespace af::fuzz {

// A whole .safetensors file: open, then read every tensor raw and (float dtypes) as float32.
inline void feed_safetensors(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  for (const TensorInfo& t : f.tensors()) {
    std::vector<unsigned char> raw(t.nbytes());  // bounded: the tensors tile the file
    f.read_raw(t, raw.data());
    std::vector<float> floats(t.numel());
    try {
      f.read_f32(t, floats.data());
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Unsupported) throw;  // only non-float dtypes may refuse
    }
  }
}

// A ZIP archive: open, then read every stored entry whole and in part.
inline void feed_zip(const std::string& path) {
  const ZipReader z = ZipReader::open(path);
  for (const ZipEntry& e : z.entries()) {
    if (!e.stored()) continue;
    std::vector<unsigned char> buf(e.size);  // bounded: open checked it lies in the file
    z.read(e, buf.data());
    if (e.size >= 2) z.read_range(e, 1, e.size - 2, buf.data());
  }
}

// A whole PyTorch .bin: load the state dict, then read every tensor raw and as float32.
inline void feed_torch_bin(const std::string& path) {
  for (const TorchTensor& t : load_torch_state_dict(path)) {
    // numel <= its storage's elements, which lie in the file: the buffer is bounded.
    std::vector<unsigned char> raw(t.numel() * dtype_size(t.dtype));
    read_raw(t, raw.data());
    std::vector<float> floats(t.numel());
    try {
      read_f32(t, floats.data());
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Unsupported) throw;
    }
  }
}

namespace detail {
inline void put16(std::string& s, uint32_t v) { s += char(v & 0xFF), s += char((v >> 8) & 0xFF); }
inline void put32(std::string& s, uint32_t v) { put16(s, v & 0xFFFF), put16(s, v >> 16); }

// A ZIP of stored entries (CRCs left 0: the reader does not check them).
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  for (const auto& [name, body] : entries) {
    const uint32_t offset = static_cast<uint32_t>(out.size());
    put32(out, 0x04034b50), put16(out, 20), put16(out, 0), put16(out, 0), put32(out, 0), put32(out, 0);
    put32(out, body.size()), put32(out, body.size()), put16(out, name.size()), put16(out, 0);
    out += name + body;
    put32(cd, 0x02014b50), put16(cd, 20), put16(cd, 20), put16(cd, 0), put16(cd, 0), put32(cd, 0), put32(cd, 0);
    put32(cd, body.size()), put32(cd, body.size()), put16(cd, name.size()), put16(cd, 0), put16(cd, 0);
    put16(cd, 0), put16(cd, 0), put32(cd, 0), put32(cd, offset);
    cd += name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += cd;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0), put16(out, entries.size()), put16(out, entries.size());
  put32(out, cd.size()), put32(out, cd_offset), put16(out, 0);
  return out;
}
}  // namespace detail

// A bare pickle (data.pkl): wrapped in a well-formed archive next to storages "0".."15" (0-7
// sized like fixtures/torch_bin/state_dict.bin's, so that file's pickle loads whole), so the
// fuzzer spends its mutations on the unpickler, not on the ZIP.
inline void feed_torch_pickle(std::string_view pickle) {
  static const size_t kStorageBytes[16] = {128, 16, 128, 16, 30, 24, 48, 40, 64, 64, 64, 64, 64, 64, 64, 64};
  std::vector<std::pair<std::string, std::string>> entries;
  entries.emplace_back("archive/data.pkl", std::string(pickle));
  entries.emplace_back("archive/byteorder", "little");
  for (int k = 0; k < 16; ++k)
    entries.emplace_back("archive/data/" + std::to_string(k), std::string(kStorageBytes[k], char(0x3C + k)));
  const std::string zip = detail::stored_zip(entries);
  feed_torch_bin(as_file(zip.data(), zip.size()));
}

namespace detail {
// Reads every number with each accessor; the throwing and non-throwing forms must agree.
inline void visit(const Json& v) {
  if (v.is_number()) {
    int64_t i = 0;
    uint64_t u = 0;
    if (v.try_int64(&i) && v.as_int64() != i) throw std::logic_error("try_int64 and as_int64 disagree");
    if (v.try_uint64(&u) && v.as_uint64() != u) throw std::logic_error("try_uint64 and as_uint64 disagree");
    try {
      v.as_double();
    } catch (const Error&) {  // out of a double's range: a per-value error, keep walking
    }
  } else if (v.is_array()) {
    for (const Json& e : v.as_array()) visit(e);
  } else if (v.is_object()) {
    for (const auto& m : v.as_object()) {
      if (!v.find(m.first)) throw std::logic_error("find misses a member");
      visit(m.second);
    }
  }
}

// dump() of a parsed document must parse back and dump to the same text.
inline void round_trip(const Json& v) {
  const std::string text = v.dump();
  std::string again;
  try {
    again = Json::parse(text, "dumped").dump();
  } catch (const Error& e) {
    throw std::logic_error(std::string("dump() wrote JSON that does not parse: ") + e.what());
  }
  if (again != text) throw std::logic_error("dump -> parse -> dump changed the text");
}
}  // namespace detail

// JSON text, parsed with config.json's options and then with a safetensors header's
// (duplicate keys refused, a value cap); each result is walked and round-tripped. The raw
// text also goes through quote_for_message, which every parser uses to name things.
inline void feed_json(std::string_view text) {
  // Names in error messages come from such text: quoted, valid UTF-8, cut near 200 bytes.
  const std::string quoted = quote_for_message(text);
  if (!is_valid_utf8(quoted) || quoted.size() > 210)
    throw std::logic_error("quote_for_message gave invalid UTF-8 or " + std::to_string(quoted.size()) + " bytes");
  try {
    const Json v = Json::parse(text, "input");
    detail::visit(v);
    detail::round_trip(v);
  } catch (const Error&) {  // malformed for config.json: still try the header options below
  }
  JsonParseOptions opts;
  opts.reject_duplicate_keys = true;
  opts.max_values = 4096;
  detail::round_trip(Json::parse(text, "header", opts));
}

namespace detail {
template <typename F>
void guarded(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

inline void feed_configs(const Json& j) {
  guarded([&] { BertConfig::from_json(j, "config.json").head_size(); });
  guarded([&] {
    const AdapterConfig c = AdapterConfig::from_json(j, "adapter");
    for (int layer = 0; layer < 4; ++layer) c.bottleneck(layer, 768), c.in_layer(layer);
    for (const auto& kv : c.reduction_by_layer) c.bottleneck(kv.first, 768);
    c.to_json().dump();
  });
  guarded([&] { FusionConfig::from_json(j, "fusion").to_json().dump(); });
  guarded([&] {
    const HeadConfig c = HeadConfig::from_json(j, "head");
    c.to_json().dump();
    head_param_shapes("h", c, 768);
  });
}
}  // namespace detail

// Config JSON (config.json, adapter_config.json, ...): the document and its "config" member
// (where AdapterHub files keep it) go to all four config parsers, and what parses is used.
inline void feed_config(std::string_view text) {
  const Json j = Json::parse(text, "input");
  detail::feed_configs(j);
  if (const Json* config = j.find("config")) detail::feed_configs(*config);
}

}  // namespace af::fuzz
