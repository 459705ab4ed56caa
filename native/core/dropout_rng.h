// The dropout generator shared by every backend: a stateless hash of (seed, counter), so a
// mask is the same on CPU and GPU, for any thread count, and backward regenerates it from the
// seed instead of storing it.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define AF_HOST_DEVICE __host__ __device__
#else
#define AF_HOST_DEVICE
#endif

namespace af {

// splitmix64 finaliser over seed and counter; returns a uniform float in [0, 1) with 24 bits.
AF_HOST_DEVICE inline float dropout_uniform(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (counter + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

// Element `counter` is kept iff its uniform draw is >= p.
AF_HOST_DEVICE inline bool dropout_keep(uint64_t seed, uint64_t counter, float p) {
  return dropout_uniform(seed, counter) >= p;
}

}  // namespace af
