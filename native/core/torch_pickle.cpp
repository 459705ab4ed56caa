// Restricted unpickler for torch state dicts (see torch_pickle.h).
//
// The pickle is a program for a stack machine. Here it runs on symbolic values only: opcodes
// push strings, numbers, tuples, dicts; "calling" a whitelisted global produces a tensor
// description or an empty OrderedDict; nothing else can be called. Values live in one arena
// and refer to each other by index, so a hostile pickle can build cycles or million-level
// nesting through the memo without any recursion here (no recursive destructor, no recursive
// walk) — nothing in this file descends into a value further than a fixed number of levels.
// Limits on the pickle size, arena, stack, marks and memo bound the memory a file can claim.
#include "torch_pickle.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "errors.h"
#include "json.h"

namespace af {

namespace {

// A state dict's pickle takes ~150 bytes per tensor; these limits leave room for ~100k tensors.
constexpr uint64_t kMaxPickleBytes = uint64_t(64) << 20;
constexpr size_t kMaxValues = size_t(1) << 22;
constexpr size_t kMaxStack = size_t(1) << 20;
constexpr size_t kMaxMarkDepth = 1000;  // a state dict nests 3 deep; Python's own pickler stops near 1000
constexpr size_t kMaxMemo = size_t(1) << 21;
constexpr size_t kMaxGlobalName = 256;
constexpr size_t kMaxDims = 64;

// ---------------------------------------------------------------------------------------------
// Value model

enum class Kind : uint8_t { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

// The callables a state dict needs; anything else is refused when the global is resolved.
enum class Callable : uint8_t { OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, StorageType };

struct Value {
  Kind kind = Kind::None;
  bool ordered = false;           // Dict: made by collections.OrderedDict (BUILD may set _metadata)
  Callable callable{};            // Global
  DType dtype = DType::F32;       // Global of a storage type
  int64_t i = 0;                  // Bool, Int; index into storages/tensors for Storage/Tensor
  double f = 0;                   // Float
  std::string s;                  // String; "module.name" of a Global
  std::vector<uint32_t> items;    // Tuple, List; Dict as key, value, key, value, ...
};

struct StorageRef {
  std::string key;
  DType dtype;
  uint64_t numel;
};

struct TensorDesc {
  uint32_t storage;
  int64_t offset;
  std::vector<int64_t> shape, strides;
};

struct StorageName {
  const char* name;
  DType dtype;
};
constexpr StorageName kStorageTypes[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8},  {"ByteStorage", DType::U8},
    {"BoolStorage", DType::BOOL},
};

// Names for messages; nullptr for bytes that are no pickle opcode.
const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(': return "MARK";            case '.': return "STOP";           case '0': return "POP";
    case '1': return "POP_MARK";        case '2': return "DUP";            case 'F': return "FLOAT";
    case 'I': return "INT";             case 'J': return "BININT";         case 'K': return "BININT1";
    case 'L': return "LONG";            case 'M': return "BININT2";        case 'N': return "NONE";
    case 'P': return "PERSID";          case 'Q': return "BINPERSID";      case 'R': return "REDUCE";
    case 'S': return "STRING";          case 'T': return "BINSTRING";      case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";         case 'X': return "BINUNICODE";     case 'a': return "APPEND";
    case 'b': return "BUILD";           case 'c': return "GLOBAL";         case 'd': return "DICT";
    case '}': return "EMPTY_DICT";      case 'e': return "APPENDS";        case 'g': return "GET";
    case 'h': return "BINGET";          case 'i': return "INST";           case 'j': return "LONG_BINGET";
    case 'l': return "LIST";            case ']': return "EMPTY_LIST";     case 'o': return "OBJ";
    case 'p': return "PUT";             case 'q': return "BINPUT";         case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";         case 't': return "TUPLE";          case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";        case 'G': return "BINFLOAT";       case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";  case 0x80: return "PROTO";         case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";           case 0x83: return "EXT2";          case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";         case 0x86: return "TUPLE2";        case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";        case 0x89: return "NEWFALSE";      case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";          case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";      case 0x8f: return "EMPTY_SET";     case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";      case 0x92: return "NEWOBJ_EX";     case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";        case 0x95: return "FRAME";         case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

// ---------------------------------------------------------------------------------------------
// The interpreter

class Unpickler {
 public:
  Unpickler(const std::string& data, std::string where) : data_(data), where_(std::move(where)) {}

  uint32_t run();  // returns the index of the pickled object
  const Value& at(uint32_t v) const { return values_[v]; }
  std::vector<StorageRef> storages;
  std::vector<TensorDesc> tensors;

 private:
  [[noreturn]] void bad(ErrorCode code, const std::string& msg) const {
    fail(code, where_ + " at byte " + std::to_string(op_pos_) + ": " + msg);
  }

  // ---- input ----
  const unsigned char* take(uint64_t n) {
    if (n > data_.size() - pos_) bad(ErrorCode::InvalidFile, "the pickle ends in the middle of an opcode");
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data_.data()) + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t read_le(int bytes) {
    const unsigned char* p = take(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | p[k];
    return v;
  }
  std::string read_line();

  // ---- values and stack ----
  uint32_t make(Kind kind) {
    if (values_.size() >= kMaxValues) bad(ErrorCode::InvalidFile, "more than " + std::to_string(kMaxValues) + " values");
    values_.emplace_back();
    values_.back().kind = kind;
    return static_cast<uint32_t>(values_.size() - 1);
  }
  uint32_t make_int(int64_t v) {
    const uint32_t id = make(Kind::Int);
    values_[id].i = v;
    return id;
  }
  void push(uint32_t v) {
    if (stack_.size() >= kMaxStack) bad(ErrorCode::InvalidFile, "stack deeper than " + std::to_string(kMaxStack));
    stack_.push_back(v);
  }
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }  // items below a mark are out of reach
  uint32_t pop() {
    if (stack_.size() <= stack_floor()) bad(ErrorCode::InvalidFile, "stack underflow");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() const {
    if (stack_.size() <= stack_floor()) bad(ErrorCode::InvalidFile, "stack underflow");
    return stack_.back();
  }
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) bad(ErrorCode::InvalidFile, "no MARK to pop to");
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void push_container(Kind kind, std::vector<uint32_t> items) {
    const uint32_t id = make(kind);
    values_[id].items = std::move(items);
    push(id);
  }
  Value& expect(uint32_t v, Kind kind, const char* what) {
    if (values_[v].kind != kind)
      bad(ErrorCode::InvalidFile, std::string(what) + " must be a " + kind_name(kind) + ", got a " + kind_name(values_[v].kind));
    return values_[v];
  }
  void memo_put(uint64_t index) {
    if (memo_.size() >= kMaxMemo && !memo_.count(index))
      bad(ErrorCode::InvalidFile, "memo larger than " + std::to_string(kMaxMemo) + " entries");
    memo_[index] = top();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) bad(ErrorCode::InvalidFile, "memo entry " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // ---- the opcodes with meaning beyond plain data ----
  void push_string(uint64_t len);
  void push_global(const std::string& module, const std::string& name);
  void reduce();
  void build();
  void persistent_load();
  uint32_t rebuild_tensor(const std::vector<uint32_t>& args, bool v2);
  std::vector<int64_t> int_tuple(uint32_t v, const char* what);
  bool is_empty_dict(uint32_t v) const { return values_[v].kind == Kind::Dict && values_[v].items.empty(); }

  const std::string& data_;
  std::string where_;
  size_t pos_ = 0, op_pos_ = 0;
  std::vector<Value> values_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::unordered_map<std::string, uint32_t> storage_index_;  // key -> storages position
};

std::string Unpickler::read_line() {
  const size_t start = pos_;
  const size_t end = data_.find('\n', start);
  if (end == std::string::npos) bad(ErrorCode::InvalidFile, "GLOBAL name is not terminated");
  if (end - start > kMaxGlobalName) bad(ErrorCode::InvalidFile, "GLOBAL name is too long");
  pos_ = end + 1;
  return data_.substr(start, end - start);
}

void Unpickler::push_string(uint64_t len) {
  const unsigned char* p = take(len);  // bounded by the bytes left, before any allocation
  const uint32_t id = make(Kind::String);
  values_[id].s.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  if (!is_valid_utf8(values_[id].s)) bad(ErrorCode::InvalidFile, "string is not valid UTF-8");
  push(id);
}

void Unpickler::push_global(const std::string& module, const std::string& name) {
  const uint32_t id = make(Kind::Global);
  Value& g = values_[id];
  g.s = module + "." + name;
  if (module == "collections" && name == "OrderedDict") g.callable = Callable::OrderedDict;
  else if (module == "torch._utils" && name == "_rebuild_tensor_v2") g.callable = Callable::RebuildTensorV2;
  else if (module == "torch._utils" && name == "_rebuild_tensor") g.callable = Callable::RebuildTensor;
  else if (module == "torch._utils" && name == "_rebuild_parameter") g.callable = Callable::RebuildParameter;
  else {
    bool storage = false;
    if (module == "torch")
      for (const auto& st : kStorageTypes)
        if (name == st.name) {
          g.callable = Callable::StorageType;
          g.dtype = st.dtype;
          storage = true;
        }
    if (!storage)
      bad(ErrorCode::Unsupported, "refused global " + quote_for_message(g.s) +
                                      ": a state dict only needs collections.OrderedDict, "
                                      "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage");
  }
  push(id);
}

std::vector<int64_t> Unpickler::int_tuple(uint32_t v, const char* what) {
  const Value& t = expect(v, Kind::Tuple, what);
  if (t.items.size() > kMaxDims) bad(ErrorCode::Unsupported, std::string(what) + " has more than " + std::to_string(kMaxDims) + " dims");
  std::vector<int64_t> out;
  for (uint32_t item : t.items) {
    const Value& x = expect(item, Kind::Int, what);
    if (x.i < 0) bad(ErrorCode::InvalidFile, std::string(what) + " has a negative entry");
    out.push_back(x.i);
  }
  return out;
}

// _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
// _rebuild_tensor(storage, offset, size, stride)
uint32_t Unpickler::rebuild_tensor(const std::vector<uint32_t>& args, bool v2) {
  if (v2 ? (args.size() != 6 && args.size() != 7) : args.size() != 4)
    bad(ErrorCode::InvalidFile, std::string(v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor") + " takes " +
                                    (v2 ? "6 or 7" : "4") + " arguments, got " + std::to_string(args.size()));
  TensorDesc t;
  t.storage = static_cast<uint32_t>(expect(args[0], Kind::Storage, "tensor storage").i);
  t.offset = expect(args[1], Kind::Int, "tensor storage offset").i;
  if (t.offset < 0) bad(ErrorCode::InvalidFile, "negative tensor storage offset");
  t.shape = int_tuple(args[2], "tensor size");
  t.strides = int_tuple(args[3], "tensor stride");
  if (t.shape.size() != t.strides.size()) bad(ErrorCode::InvalidFile, "tensor size and stride differ in length");
  if (v2) {
    expect(args[4], Kind::Bool, "requires_grad");
    // Hooks are never serialised (torch writes an empty OrderedDict); anything else is not ours.
    if (!is_empty_dict(args[5])) bad(ErrorCode::Unsupported, "tensor with backward hooks");
    if (args.size() == 7) {  // {"conj": bool, "neg": bool}; a set bit would change the values
      const Value& meta = expect(args[6], Kind::Dict, "tensor metadata");
      for (size_t k = 1; k < meta.items.size(); k += 2)
        if (values_[meta.items[k]].kind != Kind::Bool || values_[meta.items[k]].i != 0)
          bad(ErrorCode::Unsupported, "tensor with conj/neg bits or other metadata set");
    }
  }
  tensors.push_back(std::move(t));
  const uint32_t id = make(Kind::Tensor);
  values_[id].i = static_cast<int64_t>(tensors.size() - 1);
  return id;
}

void Unpickler::reduce() {
  const uint32_t args_id = pop();
  const uint32_t fn_id = pop();
  if (values_[fn_id].kind != Kind::Global)
    bad(ErrorCode::Unsupported, std::string("REDUCE of a ") + kind_name(values_[fn_id].kind) + ", not a global");
  const Callable callable = values_[fn_id].callable;
  const std::vector<uint32_t> args = expect(args_id, Kind::Tuple, "REDUCE arguments").items;
  switch (callable) {
    case Callable::OrderedDict: {
      if (!args.empty()) bad(ErrorCode::Unsupported, "collections.OrderedDict called with arguments");
      const uint32_t id = make(Kind::Dict);
      values_[id].ordered = true;
      push(id);
      return;
    }
    case Callable::RebuildTensorV2: push(rebuild_tensor(args, true)); return;
    case Callable::RebuildTensor: push(rebuild_tensor(args, false)); return;
    case Callable::RebuildParameter:  // (data, requires_grad, backward_hooks): the data is all we keep
      if (args.size() != 3) bad(ErrorCode::InvalidFile, "_rebuild_parameter takes 3 arguments");
      expect(args[0], Kind::Tensor, "parameter data");
      expect(args[1], Kind::Bool, "requires_grad");
      if (!is_empty_dict(args[2])) bad(ErrorCode::Unsupported, "parameter with backward hooks");
      push(args[0]);
      return;
    case Callable::StorageType:
      break;
  }
  bad(ErrorCode::Unsupported, "refused call of " + quote_for_message(values_[fn_id].s) + " (storage types only name a dtype)");
}

// torch pickles a state dict's OrderedDict with its `_metadata` attribute (per-module versions)
// as BUILD {"_metadata": ...}. That is the only attribute accepted; its content is not used.
void Unpickler::build() {
  const uint32_t state = pop();
  const Value& inst = values_[top()];
  if (inst.kind != Kind::Dict || !inst.ordered) bad(ErrorCode::Unsupported, std::string("BUILD on a ") + kind_name(inst.kind));
  const Value& st = values_[state];
  if (st.kind == Kind::None) return;
  if (st.kind != Kind::Dict) bad(ErrorCode::Unsupported, std::string("BUILD with a ") + kind_name(st.kind) + " state");
  for (size_t k = 0; k < st.items.size(); k += 2) {
    const Value& key = values_[st.items[k]];
    if (key.kind != Kind::String || key.s != "_metadata")
      bad(ErrorCode::Unsupported, "BUILD sets an attribute other than _metadata" +
                                      (key.kind == Kind::String ? ": " + quote_for_message(key.s) : std::string()));
  }
}

// torch's persistent id for a storage: ("storage", <torch.XStorage>, key, location, numel).
void Unpickler::persistent_load() {
  const Value& pid = expect(pop(), Kind::Tuple, "persistent id");
  if (pid.items.size() != 5) bad(ErrorCode::InvalidFile, "persistent id must have 5 fields");
  const Value& tag = expect(pid.items[0], Kind::String, "persistent id tag");
  if (tag.s != "storage") bad(ErrorCode::Unsupported, "persistent id of kind " + quote_for_message(tag.s));
  const Value& type = expect(pid.items[1], Kind::Global, "storage type");
  if (type.callable != Callable::StorageType) bad(ErrorCode::InvalidFile, quote_for_message(type.s) + " is not a storage type");
  const std::string& key = expect(pid.items[2], Kind::String, "storage key").s;
  expect(pid.items[3], Kind::String, "storage location");  // "cpu", "cuda:0", ...: data is read the same
  const int64_t numel = expect(pid.items[4], Kind::Int, "storage size").i;
  if (numel < 0) bad(ErrorCode::InvalidFile, "negative storage size");

  auto it = storage_index_.find(key);
  if (it == storage_index_.end()) {
    it = storage_index_.emplace(key, static_cast<uint32_t>(storages.size())).first;
    storages.push_back({key, type.dtype, static_cast<uint64_t>(numel)});
  } else if (storages[it->second].dtype != type.dtype || storages[it->second].numel != static_cast<uint64_t>(numel)) {
    bad(ErrorCode::InvalidFile, "storage " + quote_for_message(key) + " is described twice with different types or sizes");
  }
  const uint32_t id = make(Kind::Storage);
  values_[id].i = it->second;
  push(id);
}

uint32_t Unpickler::run() {
  for (;;) {
    op_pos_ = pos_;
    if (pos_ >= data_.size()) bad(ErrorCode::InvalidFile, "the pickle ends without STOP");
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t v = read_le(1);
        if (v > 5) bad(ErrorCode::Unsupported, "pickle protocol " + std::to_string(v));
        break;
      }
      case 0x95:  // FRAME: only a read-ahead hint, but its length must fit
        if (read_le(8) > data_.size() - pos_) bad(ErrorCode::InvalidFile, "FRAME runs past the end of the pickle");
        break;
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1) bad(ErrorCode::InvalidFile, "STOP with a stack of " + std::to_string(stack_.size()) + " items or an open MARK");
        return stack_.back();
      }
      case '(':
        if (marks_.size() >= kMaxMarkDepth)
          bad(ErrorCode::InvalidFile, "MARK nesting deeper than " + std::to_string(kMaxMarkDepth));
        marks_.push_back(stack_.size());
        break;
      case '}': push_container(Kind::Dict, {}); break;
      case ']': push_container(Kind::List, {}); break;
      case ')': push_container(Kind::Tuple, {}); break;
      case 't': push_container(Kind::Tuple, pop_mark()); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        std::vector<uint32_t> items(op - 0x84u);
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        push_container(Kind::Tuple, std::move(items));
        break;
      }
      case 'X': push_string(read_le(4)); break;
      case 0x8c: push_string(read_le(1)); break;
      case 0x8d: push_string(read_le(8)); break;
      case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4))))); break;
      case 'K': push(make_int(static_cast<int64_t>(read_le(1)))); break;
      case 'M': push(make_int(static_cast<int64_t>(read_le(2)))); break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const int n = static_cast<int>(read_le(1));
        if (n > 8) bad(ErrorCode::Unsupported, "integer wider than 64 bits");
        uint64_t v = n ? read_le(n) : 0;
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
        int64_t s;
        std::memcpy(&s, &v, 8);
        push(make_int(s));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const unsigned char* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
        const uint32_t id = make(Kind::Float);
        std::memcpy(&values_[id].f, &bits, 8);
        push(id);
        break;
      }
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        const uint32_t id = make(Kind::Bool);
        values_[id].i = op == 0x88;
        push(id);
        break;
      }
      case 'N': push(make(Kind::None)); break;
      case 'q': memo_put(read_le(1)); break;
      case 'r': memo_put(read_le(4)); break;
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'h': memo_get(read_le(1)); break;
      case 'j': memo_get(read_le(4)); break;
      case 's': {  // SETITEM
        const uint32_t value = pop(), key = pop();
        Value& d = expect(top(), Kind::Dict, "SETITEM target");
        d.items.push_back(key);
        d.items.push_back(value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<uint32_t> kv = pop_mark();
        if (kv.size() % 2) bad(ErrorCode::InvalidFile, "SETITEMS with an odd number of items");
        Value& d = expect(top(), Kind::Dict, "SETITEMS target");
        d.items.insert(d.items.end(), kv.begin(), kv.end());
        break;
      }
      case 'a': {  // APPEND
        const uint32_t v = pop();
        expect(top(), Kind::List, "APPEND target").items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<uint32_t> vs = pop_mark();
        Value& l = expect(top(), Kind::List, "APPENDS target");
        l.items.insert(l.items.end(), vs.begin(), vs.end());
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = read_line();
        const std::string name = read_line();
        push_global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop(), Kind::String, "STACK_GLOBAL name").s;
        const std::string module = expect(pop(), Kind::String, "STACK_GLOBAL module").s;
        push_global(module, name);
        break;
      }
      case 'R': reduce(); break;
      case 'b': build(); break;
      case 'Q': persistent_load(); break;
      case 'i': case 'o': case 0x81: case 0x92:
        bad(ErrorCode::Unsupported, std::string("refused opcode ") + opcode_name(op) + ": it instantiates a class");
      case 0x82: case 0x83: case 0x84:
        bad(ErrorCode::Unsupported, std::string("refused opcode ") + opcode_name(op) + ": extension registry lookup");
      case 'P':
        bad(ErrorCode::Unsupported, "refused opcode PERSID: torch writes binary persistent ids (BINPERSID)");
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", op);
        if (const char* name = opcode_name(op))
          bad(ErrorCode::Unsupported, std::string("opcode ") + name + " (" + hex + ") is not used by torch state dicts");
        bad(ErrorCode::InvalidFile, std::string("unknown pickle opcode ") + hex);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// From the unpickled object to checked tensors

std::string num(uint64_t v) { return std::to_string(v); }

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

std::string tensor_where(const TorchTensor& t) {
  return (t.archive ? t.archive->path() : std::string("<no archive>")) + ": tensor " + quote_for_message(t.name);
}

// Checks that every element the view addresses lies inside its storage; returns the storage
// index of the last one (or nothing is addressed when numel is 0).
uint64_t check_view(const TorchTensor& t, const std::string& where) {
  if (t.shape.size() != t.strides.size() || t.shape.size() > kMaxDims)
    fail(ErrorCode::InvalidArgument, where + ": shape and strides disagree");
  if (t.storage_offset < 0) fail(ErrorCode::InvalidFile, where + ": negative storage offset");
  uint64_t numel = 1, last = static_cast<uint64_t>(t.storage_offset);
  bool overflow = false;
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d] < 0 || t.strides[d] < 0) fail(ErrorCode::InvalidFile, where + ": negative size or stride");
    overflow |= !checked_mul(numel, static_cast<uint64_t>(t.shape[d]), &numel);
  }
  uint64_t bytes = 0;
  if (overflow || !checked_mul(numel, dtype_size(t.dtype), &bytes))
    fail(ErrorCode::InvalidFile, where + ": element count overflows 64 bits");
  if (numel == 0) return 0;
  // Stride-0 or overlapping views repeat elements: refusing them keeps every tensor no larger
  // than its storage, so a small file cannot ask the caller for a huge buffer.
  if (numel > t.storage_numel)
    fail(ErrorCode::Unsupported, where + ": view has " + num(numel) + " elements but its storage only " +
                                     num(t.storage_numel) + " (a stride-0 or overlapping view)");
  for (size_t d = 0; d < t.shape.size(); ++d) {
    uint64_t span = 0;
    if (!checked_mul(static_cast<uint64_t>(t.shape[d] - 1), static_cast<uint64_t>(t.strides[d]), &span) ||
        span > std::numeric_limits<uint64_t>::max() - last)
      fail(ErrorCode::InvalidFile, where + ": strides overflow 64 bits");
    last += span;
  }
  if (last >= t.storage_numel)
    fail(ErrorCode::InvalidFile, where + ": view (offset " + num(static_cast<uint64_t>(t.storage_offset)) +
                                     ") addresses element " + num(last) + " of a storage of " + num(t.storage_numel) +
                                     " elements");
  return last;
}

// The storage entry of a tensor, checked to hold exactly storage_numel elements.
const ZipEntry& storage_of(const TorchTensor& t, const std::string& where) {
  const ZipEntry* e = t.archive->find(t.storage_entry);
  if (!e) fail(ErrorCode::InvalidFile, where + ": storage " + quote_for_message(t.storage_entry) + " is missing from the archive");
  if (!e->stored())
    fail(ErrorCode::Unsupported, where + ": storage " + quote_for_message(t.storage_entry) +
                                     " is compressed or encrypted; torch.save stores storages uncompressed");
  uint64_t bytes = 0;
  if (!checked_mul(t.storage_numel, dtype_size(t.dtype), &bytes) || bytes != e->size)
    fail(ErrorCode::InvalidFile, where + ": storage " + quote_for_message(t.storage_entry) + " holds " + num(e->size) +
                                     " bytes, not " + num(t.storage_numel) + " " + dtype_name(t.dtype) + " elements");
  return *e;
}

// Everything a read needs checked, against the struct as it is now (it is the caller's to change).
struct CheckedTensor {
  const ZipEntry* entry;
  uint64_t last;  // storage index of the last addressed element
};
CheckedTensor check_tensor(const TorchTensor& t) {
  if (!t.archive) fail(ErrorCode::InvalidArgument, tensor_where(t) + ": tensor has no archive to read from");
  const std::string where = tensor_where(t);
  const ZipEntry& e = storage_of(t, where);
  return {&e, check_view(t, where)};
}

// Legacy torch.save files (before 1.6) start with a pickled magic number, not a ZIP header.
bool is_legacy_torch_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char head[4] = {0, 0, 0, 0};
  const size_t n = std::fread(head, 1, 4, f);
  std::fclose(f);
  return n == 4 && head[0] == 0x80 && head[1] == 0x02 && head[2] == 0x8a && head[3] == 0x0a;
}

}  // namespace

uint64_t TorchTensor::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

bool TorchTensor::is_contiguous() const {
  if (strides.size() != shape.size()) return false;
  uint64_t expected = 1;  // unsigned: a hostile shape wraps instead of overflowing
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 0) return true;
    if (shape[d] != 1 && static_cast<uint64_t>(strides[d]) != expected) return false;
    expected *= static_cast<uint64_t>(shape[d]);
  }
  return true;
}

std::vector<TorchTensor> load_torch_state_dict(const std::string& path) {
  std::shared_ptr<const ZipReader> zip;
  try {
    zip = std::make_shared<const ZipReader>(ZipReader::open(path));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InvalidFile && is_legacy_torch_file(path))
      fail(ErrorCode::Unsupported, path + ": legacy torch.save format (torch < 1.6 or "
                                          "_use_new_zipfile_serialization=False); re-save it with a current torch");
    throw;
  }

  // torch names every entry "<archive>/..."; the archive name is the first entry's folder.
  if (zip->entries().empty()) fail(ErrorCode::InvalidFile, path + ": empty archive");
  const std::string& first = zip->entries().front().name;
  const size_t slash = first.find('/');
  if (slash == std::string::npos || slash == 0)
    fail(ErrorCode::InvalidFile, path + ": not a torch.save archive (first entry " + quote_for_message(first) + ")");
  const std::string prefix = first.substr(0, slash + 1);

  if (const ZipEntry* bo = zip->find(prefix + "byteorder")) {
    if (bo->size > 16) fail(ErrorCode::InvalidFile, path + ": byteorder record is too long");
    std::string order(static_cast<size_t>(bo->size), '\0');
    zip->read(*bo, order.data());
    if (order == "big") fail(ErrorCode::Unsupported, path + ": big-endian torch archives are not supported");
    if (order != "little") fail(ErrorCode::InvalidFile, path + ": unknown byteorder " + quote_for_message(order));
  }

  const std::string pkl_name = prefix + "data.pkl";
  const ZipEntry* pkl = zip->find(pkl_name);
  if (!pkl) fail(ErrorCode::InvalidFile, path + ": no " + quote_for_message(pkl_name) + " in the archive");
  if (pkl->size > kMaxPickleBytes)
    fail(ErrorCode::Unsupported, path + ": " + pkl_name + " is " + num(pkl->size) + " bytes, more than the " +
                                     num(kMaxPickleBytes) + " a state dict needs");
  std::string pickle(static_cast<size_t>(pkl->size), '\0');
  zip->read(*pkl, pickle.data());

  Unpickler up(pickle, path + ": " + pkl_name);
  const Value& root = up.at(up.run());
  if (root.kind != Kind::Dict)
    fail(ErrorCode::Unsupported, path + ": the pickled object is a " + kind_name(root.kind) +
                                     ", not a state dict (a dict of tensors)");

  std::vector<TorchTensor> out;
  std::unordered_set<std::string> seen;
  for (size_t k = 0; k < root.items.size(); k += 2) {
    const Value& key = up.at(root.items[k]);
    const Value& val = up.at(root.items[k + 1]);
    if (key.kind != Kind::String)
      fail(ErrorCode::Unsupported, path + ": state dict key " + num(k / 2) + " is a " + kind_name(key.kind) + ", not a string");
    const std::string where = path + ": tensor " + quote_for_message(key.s);
    if (val.kind != Kind::Tensor)
      fail(ErrorCode::Unsupported, path + ": value of " + quote_for_message(key.s) + " is a " + kind_name(val.kind) + ", not a tensor");
    if (!seen.insert(key.s).second) fail(ErrorCode::InvalidFile, where + " appears twice");

    const TensorDesc& d = up.tensors[static_cast<size_t>(val.i)];
    const StorageRef& s = up.storages[d.storage];
    TorchTensor t;
    t.name = key.s;
    t.dtype = s.dtype;
    t.shape = d.shape;
    t.strides = d.strides;
    t.storage_offset = d.offset;
    t.storage_entry = prefix + "data/" + s.key;
    t.storage_numel = s.numel;
    t.archive = zip;
    storage_of(t, where);
    check_view(t, where);
    out.push_back(std::move(t));
  }
  return out;
}

void read_raw(const TorchTensor& t, void* dst) {
  const CheckedTensor c = check_tensor(t);
  const ZipEntry& e = *c.entry;
  const uint64_t last = c.last;
  const uint64_t n = t.numel(), es = dtype_size(t.dtype);
  if (n == 0) return;
  const uint64_t first = static_cast<uint64_t>(t.storage_offset);
  if (t.is_contiguous()) {
    t.archive->read_range(e, first * es, n * es, dst);
    return;
  }
  // A view: read the storage span it covers, then gather row by row (innermost dim last).
  std::vector<unsigned char> span(static_cast<size_t>((last - first + 1) * es));
  t.archive->read_range(e, first * es, span.size(), span.data());
  const size_t nd = t.shape.size();  // >= 1: a 0-d tensor is contiguous
  const uint64_t inner = static_cast<uint64_t>(t.shape[nd - 1]), inner_stride = static_cast<uint64_t>(t.strides[nd - 1]);
  std::vector<int64_t> idx(nd, 0);
  unsigned char* out = static_cast<unsigned char*>(dst);
  for (uint64_t row = 0, rows = n / inner; row < rows; ++row) {
    uint64_t base = 0;
    for (size_t d = 0; d + 1 < nd; ++d) base += static_cast<uint64_t>(idx[d] * t.strides[d]);
    for (uint64_t j = 0; j < inner; ++j, out += es) std::memcpy(out, span.data() + (base + j * inner_stride) * es, es);
    for (size_t d = nd - 1; d-- > 0;) {  // odometer over the outer dims
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
}

void read_f32(const TorchTensor& t, float* dst) {
  check_tensor(t);  // before numel() sizes a buffer
  const size_t n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
    case DType::F32:
      read_raw(t, dst);
      return;
    case DType::F16:
    case DType::BF16: {
      std::vector<uint16_t> buf(n);
      read_raw(t, buf.data());
      if (t.dtype == DType::F16) f16_to_f32(buf.data(), dst, n);
      else bf16_to_f32(buf.data(), dst, n);
      return;
    }
    case DType::F64: {
      std::vector<double> buf(n);
      read_raw(t, buf.data());
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(buf[i]);
      return;
    }
    default:
      fail(ErrorCode::Unsupported, tensor_where(t) + ": dtype " + dtype_name(t.dtype) + " cannot be read as float32");
  }
}

}  // namespace af
