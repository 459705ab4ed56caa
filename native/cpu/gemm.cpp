// SGEMM driver: argument checks, provider / instruction-set dispatch, threading, and the
// GotoBLAS-style blocked loop nest around the per-ISA micro-kernels (gemm_kernels.h).
//
//   for jc in N step nc:                 packed B panel [kc x nc] (L3), one per thread
//     for pc in K step kc:
//       pack B(pc, jc)
//       for ic in M step mc:             packed A block [mc x kc] (L2)
//         pack A(ic, pc)
//         for jr in nc step nr:          one B micro-panel [kc x nr] (L2) ...
//           for ir in mc step mr:        ... meets every A micro-panel of the block
//             kernel: C[mr x nr] = alpha * A B + (pc == 0 ? beta : 1) * C
//           last pc: epilogue on the finished [mc x nr] strip (still in cache)
//
// kc is deep (up to 1024) so C is read and written few times; the kernel streams its A and B
// micro-panels from L2 at ~16 bytes a cycle, which the hardware prefetchers sustain.
//
// Threads split C into contiguous ranges of whole tiles along M or N (never K), and every
// element is summed in the same order whatever the split, so results repeat bit for bit for
// any thread count. The OpenBLAS provider is split the same way, one single-threaded
// cblas_sgemm per part (gemm_openblas.cpp says why). Small problems skip packing the operands
// the kernel can read in place; that changes where operands are read from, not the arithmetic.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../core/errors.h"
#include "gemm_kernels.h"

namespace af::cpu {

namespace gemm_detail {
#if defined(AF_HAVE_OPENBLAS)
// gemm_openblas.cpp: one single-threaded cblas_sgemm.
void openblas_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc);
#endif
}  // namespace gemm_detail

using namespace gemm_detail;

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

const char* provider_name(GemmProvider p) {
  switch (p) {
    case GemmProvider::Builtin: return "builtin";
    case GemmProvider::OpenBlas: return "openblas";
  }
  return "unknown";
}

bool openblas_compiled() {
#if defined(AF_HAVE_OPENBLAS)
  return true;
#else
  return false;
#endif
}

Isa detect_isa() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0). The CPU is
  // asked first: the *_kernels() accessors are compiled with the wider flags.
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq");
  if (avx512 && avx512_kernels()) return Isa::Avx512;
  if (avx2 && avx2_kernels()) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

namespace {

// Below this many flops (2*M*N*K) one thread wins: waking a sleeping pool worker took 10-55 us
// on the 2-vCPU Zen 5 VM (n = 192: 59 us on one thread, 70 us on two; n = 256: 139 vs 123).
constexpr double kParallelMinFlops = 3.0e7;
// Packing pays for itself through reuse: a packed A block serves every B micro-panel of the
// row, a packed B panel every A tile. Below this many flops, or with few micro-panels to serve,
// the kernel reads the operand in place (B only when its rows are contiguous). Measured on
// Zen 5, one thread: 128x128x64 NT 233 vs 219 GFLOP/s, 1024x48x768 NT 261 vs 221, 1024x96x768
// NN 262 vs 241; but 1024^3 NN (ldb = 4 KiB, rows alias in cache) 207 in place vs 242 packed.
constexpr double kDirectMaxFlops = 8.0e6;
constexpr int kDirectMaxPanels = 4;

// ---- per-thread pack buffers ----

// One 64-byte aligned scratch area per thread, grown on demand and reused by every call on
// that thread (pool workers live as long as the pool).
class PackArena {
 public:
  ~PackArena() { std::free(data_); }
  float* get(size_t floats) {
    if (floats > cap_) {
      std::free(data_);
      data_ = nullptr;
      cap_ = 0;
      size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) fail(ErrorCode::OutOfMemory, "sgemm: cannot allocate " + std::to_string(bytes) + " bytes of pack buffer");
      cap_ = floats;
    }
    return data_;
  }
  bool busy = false;

 private:
  float* data_ = nullptr;
  size_t cap_ = 0;
};

thread_local PackArena t_arena;

// Marks the thread's arena in use; a re-entrant call (an epilogue that runs a GEMM) gets a
// private arena instead of clobbering the outer call's panels.
class ArenaLease {
 public:
  ArenaLease() : arena_(t_arena.busy ? &own_ : &t_arena) { arena_->busy = true; }
  ~ArenaLease() { arena_->busy = false; }
  PackArena& operator*() { return *arena_; }

 private:
  PackArena own_;
  PackArena* arena_;
};

// ---- the serial blocked GEMM on one thread's part of C ----

struct Problem {
  bool trans_a, trans_b;
  int M, N, K;
  float alpha;
  const float* A;
  long lda;
  const float* B;
  long ldb;
  float beta;
  float* C;
  long ldc;
  const GemmEpilogue* epilogue;
  bool direct_a, direct_b;  // read in place instead of packing (small problems)
};

// op(A)(i, k) and op(B)(k, j) addresses.
inline const float* a_at(const Problem& p, long i, long k) {
  return p.trans_a ? p.A + k * p.lda + i : p.A + i * p.lda + k;
}
inline const float* b_at(const Problem& p, long k, long j) {
  return p.trans_b ? p.B + j * p.ldb + k : p.B + k * p.ldb + j;
}

// Depth of the k blocks: K split evenly into blocks of at most ks.kc (a multiple of 16, which
// suits the 16-wide transposing packs). Depends on K only, so every thread count and every
// path sums each element in the same order.
int k_block(const KernelSet& ks, int K) {
  if (K <= 0) return 0;
  const int blocks = (K + ks.kc - 1) / ks.kc;
  const int kc = ((K + blocks - 1) / blocks + 15) / 16 * 16;
  return std::min(kc, K);
}

// Computes rows [m0, m1) x columns [n0, n1) of C.
void gemm_range(const KernelSet& ks, const Problem& p, int m0, int m1, int n0, int n1) {
  const int MR = ks.mr, NR = ks.nr, M = m1 - m0, N = n1 - n0, K = p.K;
  const int kc_max = k_block(ks, K);
  // A block of about ks.mc x ks.kc floats (the L2 budget); even blocks of whole tiles so the
  // last one is not a sliver.
  const int mc_budget = std::max(MR, int(long(ks.mc) * ks.kc / kc_max) / MR * MR);
  const int m_blocks = (M + mc_budget - 1) / mc_budget;
  const int mc_max = ((M + m_blocks - 1) / m_blocks + MR - 1) / MR * MR;
  const int nc_max = std::min(ks.nc, (N + NR - 1) / NR * NR);

  ArenaLease lease;
  float* abuf = nullptr;
  float* bbuf = nullptr;
  {
    size_t a_floats = p.direct_a ? 0 : size_t(mc_max) * kc_max;
    size_t b_floats = p.direct_b ? 0 : size_t(nc_max) * kc_max;
    float* base = (*lease).get(a_floats + b_floats + 16);
    bbuf = base;
    abuf = base + (b_floats + 15) / 16 * 16;  // keep 64-byte alignment
  }
  // Kernel strides for A: packed panels, or the caller's matrix.
  const long a_rs = p.direct_a ? (p.trans_a ? 1 : p.lda) : 1;
  const long a_cs = p.direct_a ? (p.trans_a ? p.lda : 1) : MR;

  for (int jc = 0; jc < N; jc += nc_max) {
    const int nc = std::min(nc_max, N - jc);
    for (int pc = 0; pc < K; pc += kc_max) {
      const int kc = std::min(kc_max, K - pc);
      const float beta = pc == 0 ? p.beta : 1.0f;
      const bool last = pc + kc == K;
      if (!p.direct_b) ks.pack_b(p.trans_b, kc, nc, b_at(p, pc, n0 + jc), p.ldb, bbuf);

      for (int ic = 0; ic < M; ic += mc_max) {
        const int mc = std::min(mc_max, M - ic);
        if (!p.direct_a) ks.pack_a(p.trans_a, mc, kc, a_at(p, m0 + ic, pc), p.lda, abuf);

        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          const float* b = p.direct_b ? b_at(p, pc, n0 + jc + jr) : bbuf + long(jr) * kc;
          const long b_rs = p.direct_b ? p.ldb : NR;
          float* c = p.C + long(m0 + ic) * p.ldc + (n0 + jc + jr);
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            const float* a = p.direct_a ? a_at(p, m0 + ic + ir, pc) : abuf + long(ir) * kc;
            ks.kernel(kc, a, a_rs, a_cs, b, b_rs, !p.direct_b, c + long(ir) * p.ldc, p.ldc, mr,
                      nr, p.alpha, beta);
          }
          if (last && p.epilogue)  // this [mc x nr] strip is final: fuse while it is in cache
            p.epilogue->fn(p.epilogue->ctx, p.C, int(p.ldc), m0 + ic, mc, n0 + jc + jr, nr);
        }
      }
    }
  }
}

// C = beta * C on rows [m0, m1) (K == 0 or alpha == 0: A and B are not read), then the
// epilogue on those rows.
void scale_rows(const Problem& p, int m0, int m1) {
  for (int i = m0; i < m1; ++i) {
    float* c = p.C + long(i) * p.ldc;
    if (p.beta == 0.0f)
      std::memset(c, 0, sizeof(float) * p.N);
    else if (p.beta != 1.0f)
      for (int j = 0; j < p.N; ++j) c[j] *= p.beta;
  }
  if (p.epilogue) p.epilogue->fn(p.epilogue->ctx, p.C, int(p.ldc), m0, m1 - m0, 0, p.N);
}

const KernelSet& kernels_for(Isa isa) {
  const KernelSet* ks = nullptr;
  switch (isa) {
    case Isa::Avx512: ks = avx512_kernels(); break;
    case Isa::Avx2: ks = avx2_kernels(); break;
    case Isa::Scalar: return scalar_kernels();
  }
  if (!ks) fail(ErrorCode::Unsupported, std::string("sgemm: isa '") + isa_name(isa) + "' is not built for this architecture");
  return *ks;
}

// An ISA is usable when it is no wider than what the CPU (and build) supports.
bool isa_supported(Isa isa) {
  static const Isa best = detect_isa();
  return static_cast<int>(isa) <= static_cast<int>(best);
}

void check_args(const GemmConfig& cfg, bool trans_a, bool trans_b, int M, int N, int K,
                const float* A, int lda, const float* B, int ldb, const float* C, int ldc) {
  auto bad = [](const std::string& what) { fail(ErrorCode::InvalidArgument, "sgemm: " + what); };
  if (M < 0 || N < 0 || K < 0)
    bad("dimensions must be >= 0, got M=" + std::to_string(M) + " N=" + std::to_string(N) +
        " K=" + std::to_string(K));
  const int a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
  if (lda < a_cols || lda < 0) bad("lda=" + std::to_string(lda) + " is less than the row length " + std::to_string(a_cols) + " of A");
  if (ldb < b_cols || ldb < 0) bad("ldb=" + std::to_string(ldb) + " is less than the row length " + std::to_string(b_cols) + " of B");
  if (ldc < N || ldc < 0) bad("ldc=" + std::to_string(ldc) + " is less than the row length " + std::to_string(N) + " of C");
  if (M > 0 && N > 0 && !C) bad("C is null");
  if (M > 0 && N > 0 && K > 0 && (!A || !B)) bad(!A ? "A is null" : "B is null");
  if (cfg.provider == GemmProvider::OpenBlas && !openblas_compiled())
    fail(ErrorCode::Unsupported, "sgemm: this build has no OpenBLAS");
  if (cfg.provider == GemmProvider::Builtin && !isa_supported(cfg.isa))
    fail(ErrorCode::Unsupported, std::string("sgemm: this CPU does not support isa '") + isa_name(cfg.isa) + "'");
}

// Estimated cost (in FMA-equivalents) of giving each of `threads` threads a contiguous range of
// whole tiles along one dimension: the busiest thread's share of the work plus the packing it
// repeats (each thread packs all of the other operand).
double split_cost(int tiles, int tile, int threads, double other_dims, double dup_pack) {
  const int per_thread = (tiles + threads - 1) / threads;
  return double(per_thread) * tile * other_dims + 10.0 * dup_pack;
}

// Runs fn(m0, m1, n0, n1) over `threads` contiguous parts of C: whole mr-row tiles along M (each
// thread packs all of B) or whole nr-column tiles along N (each packs all of A), whichever is
// cheaper for the busiest thread. Never splits K, so no element's sum depends on the split.
template <typename Fn>
void run_split(ThreadPool& pool, int threads, int M, int N, int mr, int nr, int K, const Fn& fn) {
  const int tiles_m = (M + mr - 1) / mr, tiles_n = (N + nr - 1) / nr;
  if (threads <= 1 || (tiles_m == 1 && tiles_n == 1)) {
    fn(0, M, 0, N);
    return;
  }
  const double cost_m = split_cost(tiles_m, mr, threads, double(N) * K, double(K) * N);
  const double cost_n = split_cost(tiles_n, nr, threads, double(M) * K, double(M) * K);
  const bool split_m = cost_m <= cost_n;
  pool.parallel_for(split_m ? tiles_m : tiles_n, 1, [&](int, size_t b, size_t e) {
    if (split_m)
      fn(int(b) * mr, std::min<int>(int(e) * mr, M), 0, N);
    else
      fn(0, M, int(b) * nr, std::min<int>(int(e) * nr, N));
  });
}

// The OpenBLAS provider on one part of C, then the epilogue on that part (same thread).
void gemm_range_openblas(const Problem& p, int m0, int m1, int n0, int n1) {
#if defined(AF_HAVE_OPENBLAS)
  openblas_sgemm(p.trans_a, p.trans_b, m1 - m0, n1 - n0, p.K, p.alpha, a_at(p, m0, 0), int(p.lda),
                 b_at(p, 0, n0), int(p.ldb), p.beta, p.C + long(m0) * p.ldc + n0, int(p.ldc));
  if (p.epilogue) p.epilogue->fn(p.epilogue->ctx, p.C, int(p.ldc), m0, m1 - m0, n0, n1 - n0);
#else
  (void)p, (void)m0, (void)m1, (void)n0, (void)n1;
  fail(ErrorCode::Unsupported, "sgemm: this build has no OpenBLAS");
#endif
}

}  // namespace

void sgemm(ThreadPool& pool, const GemmConfig& cfg, bool trans_a, bool trans_b, int M, int N,
           int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
           float* C, int ldc, const GemmEpilogue* epilogue) {
  check_args(cfg, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  if (epilogue && !epilogue->fn) epilogue = nullptr;

  // Inside a parallel region (e.g. one attention head per thread) the call runs serially.
  const double flops = 2.0 * M * N * K;
  const int threads = ThreadPool::in_parallel_region() || flops < kParallelMinFlops ? 1 : pool.threads();
  Problem p{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epilogue, false, false};

  if (K == 0 || alpha == 0.0f) {  // C = beta * C; A and B are not read (as in BLAS)
    const size_t min_rows = std::max(1, (1 << 18) / N);  // ~1 MiB of C per thread
    pool.parallel_for(M, min_rows, [&](int, size_t b, size_t e) { scale_rows(p, int(b), int(e)); });
    return;
  }

  if (cfg.provider == GemmProvider::OpenBlas) {
    run_split(pool, threads, M, N, 16, 16, K, [&](int m0, int m1, int n0, int n1) {
      gemm_range_openblas(p, m0, m1, n0, n1);
    });
    return;
  }

  const KernelSet& ks = kernels_for(cfg.isa);
  const bool small = flops <= kDirectMaxFlops;
  p.direct_a = small || N <= kDirectMaxPanels * ks.nr;
  p.direct_b = !trans_b && (small || M <= kDirectMaxPanels * ks.mr);  // needs contiguous rows
  run_split(pool, threads, M, N, ks.mr, ks.nr, K, [&](int m0, int m1, int n0, int n1) {
    gemm_range(ks, p, m0, m1, n0, n1);
  });
}

}  // namespace af::cpu
