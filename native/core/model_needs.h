// What an adapter site's activations must hold (planned per site, merged across layers when
// inference shares one slot per site).
#pragma once
#include <algorithm>

namespace af {

// What a site's activations must hold.
struct SiteNeeds {
  bool adapter = false;  // any adapter (scratch for backward)
  bool pre = false;      // LN before the adapter: pre_in, stats, hs
  bool fusion = false;
  bool direct = false;   // direct-form fusion buffers
  int R = 0, N = 0;
  void merge(const SiteNeeds& o) {
    adapter |= o.adapter;
    pre |= o.pre;
    fusion |= o.fusion;
    direct |= o.direct;
    R = std::max(R, o.R);
    N = std::max(N, o.N);
  }
};

}  // namespace af
