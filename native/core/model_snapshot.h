// What a model holds, frozen at one moment: its parameter table (names, shapes, which train),
// its adapters, fusions and heads with their configs, and the active setup. A model publishes a
// new snapshot at the end of every change, under its lock; any thread may read the current one
// without waiting for a running forward (docs/ARCHITECTURE.md, "One owner per model").
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "adapter_config.h"
#include "head.h"

namespace af {

// Which adapters run: none, one adapter, or a fusion over several (AdapterHub Fuse).
struct ActiveSetup {
  enum class Kind { None, Single, Fuse } kind = Kind::None;
  std::vector<std::string> names;
};

// Parameter names and shapes, in table order.
using TensorShapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

struct ModelSnapshot {
  struct Param {
    std::string name;
    std::vector<int64_t> shape;
    bool trainable = false;
  };
  struct Adapter {
    std::string name;
    AdapterConfig config;
    std::vector<std::string> params;
  };
  struct Fusion {
    std::string key;  // "a,b,c"
    std::vector<std::string> names;
    FusionConfig config;
    std::vector<std::string> params;
  };
  struct Head {
    std::string name;
    HeadConfig config;
    std::vector<std::string> params;
  };

  uint64_t version = 0;  // grows with every published change
  std::vector<Param> params;
  std::vector<Adapter> adapters;
  std::vector<Fusion> fusions;
  std::vector<Head> heads;
  ActiveSetup active;
  std::string active_head;  // empty: none

  // Null when absent.
  const Adapter* adapter(const std::string& name) const;
  const Fusion* fusion(const std::string& key) const;
  const Head* head(const std::string& name) const;
  const Param* param(const std::string& name) const;
  // Like the above, but an absent module is Error(InvalidArgument) naming it.
  const Adapter& require_adapter(const std::string& name) const;
  const Fusion& require_fusion(const std::string& key) const;
  const Head& require_head(const std::string& name) const;
};

}  // namespace af
