// SGEMM tests: every instruction set this CPU runs x every provider built in, against the
// double-precision reference, over transposes, odd shapes, alpha/beta, padded strides; plus
// the beta == 0 / NaN contract, the epilogue contract, nested calls and determinism.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../cpu/gemm.h"
#include "../cpu/gemm_kernels.h"
#include "check.h"

using namespace af::cpu;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kSentinel = 12345.0f;  // fills C's padding columns: must survive every call

// Every (provider, isa) this build and CPU can run.
std::vector<GemmConfig> all_configs() {
  std::vector<GemmConfig> out;
  const Isa best = detect_isa();
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (static_cast<int>(isa) <= static_cast<int>(best)) out.push_back({GemmProvider::Builtin, isa});
  if (openblas_compiled()) out.push_back({GemmProvider::OpenBlas, best});
  return out;
}

std::string config_name(const GemmConfig& c) {
  return std::string(provider_name(c.provider)) + "/" + isa_name(c.isa);
}

// A row-major matrix with `rows` x `cols` values and row stride ld >= cols; the padding
// columns hold `pad` (NaN for inputs: a kernel that reads them poisons its result).
struct Mat {
  int rows, cols, ld;
  std::vector<float> v;
  Mat(int r, int c, int ld_, std::mt19937& rng, float pad = kNaN)
      : rows(r), cols(c), ld(ld_), v(size_t(r) * ld_ + 1, pad) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < c; ++j) v[size_t(i) * ld + j] = u(rng);
  }
  float* data() { return v.data(); }
  std::vector<float> dense() const {  // the values without padding
    std::vector<float> out(size_t(rows) * cols);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) out[size_t(i) * cols + j] = v[size_t(i) * ld + j];
    return out;
  }
  void fill_values(float x) {
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) v[size_t(i) * ld + j] = x;
  }
};

struct Case {
  bool ta, tb;
  int M, N, K;
  float alpha, beta;
  int pad;  // extra columns in every leading dimension
};

std::string describe(const GemmConfig& cfg, const Case& c) {
  return config_name(cfg) + " " + (c.ta ? "T" : "N") + (c.tb ? "T" : "N") + " M=" +
         std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta) +
         " pad=" + std::to_string(c.pad);
}

// Runs one case through sgemm for each config in `cfgs` and once through the reference; checks
// values and that C's padding is untouched.
void check_case(ThreadPool& pool, const std::vector<GemmConfig>& cfgs, const Case& c,
                std::mt19937& rng, double tol = 1e-5) {
  const int a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  Mat A(a_rows, a_cols, a_cols + c.pad, rng), B(b_rows, b_cols, b_cols + c.pad, rng);
  Mat C0(c.M, c.N, c.N + c.pad, rng, kSentinel);
  if (c.beta == 0.0f) C0.fill_values(kNaN);  // beta == 0 must not read C
  Mat R = C0;
  sgemm_reference(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), A.ld, B.data(), B.ld, c.beta,
                  R.data(), R.ld);
  const std::vector<float> want = R.dense();
  for (const GemmConfig& cfg : cfgs) {
    Mat C = C0;
    sgemm(pool, cfg, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), A.ld, B.data(), B.ld, c.beta,
          C.data(), C.ld);
    const std::vector<float> got = C.dense();
    const double err = af::test::max_rel_error(got.data(), want.data(), got.size());
    CHECK_MSG(err <= tol, describe(cfg, c) << ": max rel error " << err);
    for (int i = 0; i < c.M; ++i)
      for (int j = c.N; j < C.ld; ++j)
        CHECK_MSG(C.v[size_t(i) * C.ld + j] == kSentinel, describe(cfg, c) << ": wrote C padding");
  }
}

void check_case(ThreadPool& pool, const GemmConfig& cfg, const Case& c, std::mt19937& rng) {
  check_case(pool, std::vector<GemmConfig>{cfg}, c, rng);
}

}  // namespace

AF_TEST("gemm: names and isa detection") {
  CHECK(std::string(isa_name(Isa::Scalar)) == "scalar");
  CHECK(std::string(isa_name(Isa::Avx2)) == "avx2");
  CHECK(std::string(isa_name(Isa::Avx512)) == "avx512");
  CHECK(std::string(provider_name(GemmProvider::Builtin)) == "builtin");
  CHECK(std::string(provider_name(GemmProvider::OpenBlas)) == "openblas");
  const Isa isa = detect_isa();
  CHECK(detect_isa() == isa);  // stable
#if !defined(__x86_64__)
  CHECK(isa == Isa::Scalar);
#endif
  std::printf("  # detect_isa: %s, openblas compiled: %s\n", isa_name(isa),
              openblas_compiled() ? "yes" : "no");
}

AF_TEST("gemm: odd shapes x transposes x alpha/beta x padding, every isa and provider") {
  ThreadPool pool(2);
  std::mt19937 rng(1234);
  const int sizes[] = {1, 3, 17, 31, 33, 65, 127, 129, 257, 300};
  const float ab[] = {0.0f, 1.0f, 0.5f, -2.0f};
  // Each size in each position, with the other two dimensions odd and moderate.
  std::vector<Case> shapes;
  for (int s : sizes) {
    shapes.push_back({false, false, s, 33, 17, 1, 0, 0});
    shapes.push_back({false, false, 31, s, 65, 1, 0, 0});
    shapes.push_back({false, false, 17, 129, s, 1, 0, 0});
  }
  for (Case c : {Case{false, false, 127, 129, 257, 1, 0, 0}, Case{false, false, 300, 257, 300, 1, 0, 0},
                 Case{false, false, 257, 300, 129, 1, 0, 0}, Case{false, false, 65, 300, 1, 1, 0, 0},
                 Case{false, false, 300, 1, 257, 1, 0, 0}})
    shapes.push_back(c);
  const std::vector<GemmConfig> cfgs = all_configs();
  int n = 0;
  for (size_t si = 0; si < shapes.size(); ++si) {
    for (int t = 0; t < 4; ++t) {
      Case c = shapes[si];
      c.ta = t & 1;
      c.tb = t & 2;
      c.pad = (si + t) % 3 == 0 ? 0 : (si + t) % 3 == 1 ? 5 : 16;
      // Rotate through the 16 alpha/beta pairs; small shapes get all of them.
      const bool small = double(c.M) * c.N * c.K < 2e5;
      for (int k = 0; k < 16; ++k) {
        if (!small && k != int((si * 4 + t) % 16)) continue;
        c.alpha = ab[k / 4];
        c.beta = ab[k % 4];
        check_case(pool, cfgs, c, rng);
        n += int(cfgs.size());
      }
    }
  }
  std::printf("  # %d cases\n", n);
}

AF_TEST("gemm: empty dimensions (M=0, N=0, K=0)") {
  ThreadPool pool(2);
  std::mt19937 rng(7);
  for (const GemmConfig& cfg : all_configs()) {
    for (int t = 0; t < 4; ++t) {
      for (float beta : {0.0f, 1.0f, 0.5f, -2.0f}) {
        check_case(pool, cfg, {bool(t & 1), bool(t & 2), 0, 17, 33, 1.0f, beta, 3}, rng);
        check_case(pool, cfg, {bool(t & 1), bool(t & 2), 17, 0, 33, 1.0f, beta, 3}, rng);
        check_case(pool, cfg, {bool(t & 1), bool(t & 2), 33, 17, 0, 1.0f, beta, 3}, rng);
        check_case(pool, cfg, {bool(t & 1), bool(t & 2), 300, 129, 0, 0.5f, beta, 0}, rng);
      }
    }
    // All dimensions zero with null pointers and zero strides is a no-op, not an error.
    sgemm(pool, cfg, false, false, 0, 0, 0, 1.0f, nullptr, 0, nullptr, 0, 0.0f, nullptr, 0);
  }
}

AF_TEST("gemm: beta=0 overwrites a NaN-filled C; alpha=0 does not read A or B") {
  ThreadPool pool(2);
  std::mt19937 rng(99);
  for (const GemmConfig& cfg : all_configs()) {
    for (int t = 0; t < 4; ++t) {
      for (int M : {1, 8, 129}) {
        const Case c{bool(t & 1), bool(t & 2), M, 300, 257, 0.5f, 0.0f, 7};
        check_case(pool, cfg, c, rng);  // check_case fills C with NaN when beta == 0
      }
    }
    // alpha == 0: C = beta * C even when A and B hold NaN.
    std::vector<float> A(64 * 64, kNaN), B(64 * 64, kNaN), C(64 * 64, 2.0f);
    sgemm(pool, cfg, false, false, 64, 64, 64, 0.0f, A.data(), 64, B.data(), 64, 0.5f, C.data(), 64);
    for (float x : C) CHECK_MSG(x == 1.0f, config_name(cfg) << ": alpha=0 gave " << x);
  }
}

AF_TEST("gemm: larger blocked shapes (several kc/mc/nc blocks and threads)") {
  // 200 x 2100 x 1100 crosses every blocking boundary of every kernel set: several k blocks
  // (kc <= 1024), A blocks (mc <= 163 at this depth) and B panels (nc <= 2048).
  ThreadPool pool(2);
  std::mt19937 rng(5);
  for (int t = 0; t < 4; ++t) {
    check_case(pool, all_configs(), {bool(t & 1), bool(t & 2), 200, 2100, 1100, 1.0f, 0.5f, 3}, rng);
    check_case(pool, all_configs(), {bool(t & 1), bool(t & 2), 1030, 97, 520, -2.0f, 1.0f, 0}, rng);
  }
}

namespace {

// Epilogue probe: counts visits per element and checks that each visited element already
// holds its final value.
struct Probe {
  int M, N, ldc;
  const float* expect;  // final values (dense M x N)
  std::vector<std::atomic<int>> visits;
  std::atomic<int> not_final{0}, out_of_range{0}, calls{0};
  Probe(int m, int n, int ld, const float* e) : M(m), N(n), ldc(ld), expect(e), visits(size_t(m) * n) {}

  static void fn(void* ctx, float* C, int ldc, int row0, int rows, int col0, int cols) {
    auto* p = static_cast<Probe*>(ctx);
    p->calls++;
    if (ldc != p->ldc || row0 < 0 || col0 < 0 || rows <= 0 || cols <= 0 || row0 + rows > p->M ||
        col0 + cols > p->N) {
      p->out_of_range++;
      return;
    }
    for (int i = row0; i < row0 + rows; ++i)
      for (int j = col0; j < col0 + cols; ++j) {
        p->visits[size_t(i) * p->N + j]++;
        const float want = p->expect[size_t(i) * p->N + j];
        const float got = C[size_t(i) * ldc + j];
        if (!(std::fabs(got - want) <= 1e-4f * (1.0f + std::fabs(want)))) p->not_final++;
        C[size_t(i) * ldc + j] = 2.0f * got;  // exact, so applying it twice would show
      }
  }
};

}  // namespace

AF_TEST("gemm: epilogue visits every element once, after it is final") {
  // K = 1100 > kc of every set, so an epilogue run before the last k block would be caught.
  ThreadPool pool(2);
  std::mt19937 rng(11);
  const int shapes[][3] = {{200, 700, 1100}, {7, 3, 5}, {128, 128, 64}, {33, 17, 0}, {1030, 97, 520}};
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      const int M = s[0], N = s[1], K = s[2];
      const bool ta = t & 1, tb = t & 2;
      Mat A(ta ? K : M, ta ? M : K, (ta ? M : K) + 1, rng);
      Mat B(tb ? N : K, tb ? K : N, (tb ? K : N) + 2, rng);
      Mat C0(M, N, N + 3, rng, kSentinel), R = C0;
      sgemm_reference(ta, tb, M, N, K, 1.0f, A.data(), A.ld, B.data(), B.ld, 0.5f, R.data(), R.ld);
      const std::vector<float> expect = R.dense();
      for (const GemmConfig& cfg : all_configs()) {
        Mat C = C0;
        Probe probe(M, N, C.ld, expect.data());
        GemmEpilogue epi{&Probe::fn, &probe};
        sgemm(pool, cfg, ta, tb, M, N, K, 1.0f, A.data(), A.ld, B.data(), B.ld, 0.5f, C.data(), C.ld, &epi);
        const std::string what = config_name(cfg) + " M=" + std::to_string(M) + " N=" +
                                 std::to_string(N) + " K=" + std::to_string(K) + " t=" + std::to_string(t);
        CHECK_MSG(probe.out_of_range == 0, what << ": block outside C");
        CHECK_MSG(probe.not_final == 0, what << ": " << probe.not_final << " elements not final");
        for (const auto& v : probe.visits) CHECK_MSG(v == 1, what << ": an element visited " << v << " times");
        std::vector<float> got = C.dense();
        for (float& x : got) x *= 0.5f;
        CHECK_CLOSE(got.data(), expect.data(), got.size(), 1e-5);
      }
    }
  }
}

AF_TEST("gemm: nested calls from a parallel region (attention-head shapes)") {
  // qkv [T, 3*D] with D = 768: per head, Q K^T (128x128x64, NT) and P V (128x64x128, NN),
  // plus the backward shapes (TN), each head from inside parallel_for.
  const int L = 128, D = 768, Dh = 64, H = 12, ld = 3 * D;
  ThreadPool pool(2);
  std::mt19937 rng(3);
  Mat qkv(L, ld, ld, rng), P(H * L, L, L, rng);
  for (const GemmConfig& cfg : all_configs()) {
    std::vector<float> S(size_t(H) * L * L, kNaN), O(size_t(H) * L * Dh, kNaN), G(size_t(H) * L * Dh, kNaN);
    std::atomic<int> nested{0};
    pool.parallel_for(H, 1, [&](int, size_t h0, size_t h1) {
      for (size_t h = h0; h < h1; ++h) {
        if (ThreadPool::in_parallel_region()) nested++;
        const float* q = qkv.data() + h * Dh;
        const float* k = q + D;
        const float* v = q + 2 * D;
        sgemm(pool, cfg, false, true, L, L, Dh, 0.125f, q, ld, k, ld, 0.0f, S.data() + h * L * L, L);
        sgemm(pool, cfg, false, false, L, Dh, L, 1.0f, P.data() + h * L * L, L, v, ld, 0.0f, O.data() + h * L * Dh, Dh);
        sgemm(pool, cfg, true, false, L, Dh, L, 1.0f, P.data() + h * L * L, L, q, ld, 0.0f, G.data() + h * L * Dh, Dh);
      }
    });
    CHECK(nested == H);
    for (int h = 0; h < H; ++h) {
      std::vector<float> s(L * L), o(L * Dh), g(L * Dh);
      const float* q = qkv.data() + h * Dh;
      sgemm_reference(false, true, L, L, Dh, 0.125f, q, ld, q + D, ld, 0.0f, s.data(), L);
      sgemm_reference(false, false, L, Dh, L, 1.0f, P.data() + h * L * L, L, q + 2 * D, ld, 0.0f, o.data(), Dh);
      sgemm_reference(true, false, L, Dh, L, 1.0f, P.data() + h * L * L, L, q, ld, 0.0f, g.data(), Dh);
      CHECK_CLOSE(S.data() + h * L * L, s.data(), s.size(), 1e-5);
      CHECK_CLOSE(O.data() + h * L * Dh, o.data(), o.size(), 1e-5);
      CHECK_CLOSE(G.data() + h * L * Dh, g.data(), g.size(), 1e-5);
    }
  }
}

AF_TEST("gemm: builtin results are bit-identical for 1 and 2 threads") {
  ThreadPool one(1), two(2);
  std::mt19937 rng(21);
  // Above the 2-thread threshold; {8, 6000, 400} splits N, {6000, 9, 400} splits M.
  const int shapes[][3] = {{1024, 768, 768}, {515, 1000, 600}, {8, 6000, 400}, {6000, 9, 400}, {129, 130, 131}};
  for (const GemmConfig& cfg : all_configs()) {
    if (cfg.provider != GemmProvider::Builtin) continue;
    for (const auto& s : shapes)
      for (int t = 0; t < 4; ++t) {
        const int M = s[0], N = s[1], K = s[2];
        const bool ta = t & 1, tb = t & 2;
        Mat A(ta ? K : M, ta ? M : K, ta ? M : K, rng), B(tb ? N : K, tb ? K : N, tb ? K : N, rng);
        Mat C1(M, N, N, rng), C2 = C1;
        sgemm(one, cfg, ta, tb, M, N, K, 0.5f, A.data(), A.ld, B.data(), B.ld, -2.0f, C1.data(), N);
        sgemm(two, cfg, ta, tb, M, N, K, 0.5f, A.data(), A.ld, B.data(), B.ld, -2.0f, C2.data(), N);
        CHECK_MSG(std::memcmp(C1.data(), C2.data(), sizeof(float) * size_t(M) * N) == 0,
                  config_name(cfg) << " M=" << M << " N=" << N << " K=" << K << " t=" << t << ": results differ");
      }
  }
}

AF_TEST("gemm: invalid arguments throw InvalidArgument") {
  ThreadPool pool(1);
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  const GemmConfig cfg{};
  using af::ErrorCode;
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, -1, 4, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, -1, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, 4, -1, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, 4, 8, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4), ErrorCode::InvalidArgument);   // lda < K
  CHECK_THROWS_CODE(sgemm(pool, cfg, true, false, 8, 4, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 8), ErrorCode::InvalidArgument);    // lda < M (A^T)
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, 8, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 8), ErrorCode::InvalidArgument);   // ldb < N
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, true, 4, 4, 8, 1, a.data(), 8, b.data(), 4, 0, c.data(), 4), ErrorCode::InvalidArgument);    // ldb < K (B^T)
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, 8, 4, 1, a.data(), 4, b.data(), 8, 0, c.data(), 4), ErrorCode::InvalidArgument);   // ldc < N
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, 4, 4, 1, nullptr, 4, b.data(), 4, 0, c.data(), 4), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(sgemm(pool, cfg, false, false, 4, 4, 4, 1, a.data(), 4, b.data(), 4, 0, nullptr, 4), ErrorCode::InvalidArgument);
  if (!openblas_compiled())
    CHECK_THROWS_CODE(sgemm(pool, {GemmProvider::OpenBlas, Isa::Scalar}, false, false, 4, 4, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4),
                      ErrorCode::Unsupported);
  if (detect_isa() != Isa::Avx512)
    CHECK_THROWS_CODE(sgemm(pool, {GemmProvider::Builtin, Isa::Avx512}, false, false, 4, 4, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4),
                      ErrorCode::Unsupported);
}

namespace {

using af::cpu::gemm_detail::KernelSet;

// The kernel sets this CPU can run.
std::vector<const KernelSet*> all_kernel_sets() {
  std::vector<const KernelSet*> out = {&af::cpu::gemm_detail::scalar_kernels()};
  const int best = static_cast<int>(detect_isa());
  if (best >= static_cast<int>(Isa::Avx2)) out.push_back(af::cpu::gemm_detail::avx2_kernels());
  if (best >= static_cast<int>(Isa::Avx512)) out.push_back(af::cpu::gemm_detail::avx512_kernels());
  return out;
}

// A 64-byte aligned float buffer with a guard zone after `n` floats.
struct Aligned {
  std::vector<float> raw;
  float* p;
  size_t n;
  explicit Aligned(size_t n_, float fill = kSentinel) : raw(n_ + 64, fill), n(n_) {
    p = raw.data() + (16 - (reinterpret_cast<uintptr_t>(raw.data()) / 4) % 16) % 16;
  }
  bool guard_intact() const {
    for (const float* g = p + n; g < raw.data() + raw.size(); ++g)
      if (*g != kSentinel) return false;
    return true;
  }
};

}  // namespace

AF_TEST("gemm kernels: SIMD packs equal the reference packs") {
  std::mt19937 rng(17);
  for (const KernelSet* ks : all_kernel_sets()) {
    const int MR = ks->mr, NR = ks->nr;
    for (bool trans : {false, true}) {
      for (int k : {1, 7, 15, 16, 17, 33, 100}) {
        for (int m : {1, MR - 1, MR, MR + 1, 2 * MR + 3, 37}) {
          if (m < 1) continue;
          Mat A(trans ? k : m, trans ? m : k, (trans ? m : k) + 3, rng);
          const size_t size = size_t((m + MR - 1) / MR) * MR * k;
          Aligned got(size), want(size);
          ks->pack_a(trans, m, k, A.data(), A.ld, got.p);
          af::cpu::gemm_detail::pack_a_ref(MR, trans, m, k, A.data(), A.ld, want.p);
          CHECK_MSG(std::memcmp(got.p, want.p, size * sizeof(float)) == 0,
                    ks->name << " pack_a trans=" << trans << " m=" << m << " k=" << k);
          CHECK_MSG(got.guard_intact(), ks->name << " pack_a wrote past its panels");
        }
        for (int n : {1, 15, 16, 17, NR - 1, NR, NR + 1, 2 * NR + 5, 33}) {
          Mat B(trans ? n : k, trans ? k : n, (trans ? k : n) + 3, rng);
          const size_t size = size_t((n + NR - 1) / NR) * NR * k;
          Aligned got(size), want(size);
          ks->pack_b(trans, k, n, B.data(), B.ld, got.p);
          af::cpu::gemm_detail::pack_b_ref(NR, trans, k, n, B.data(), B.ld, want.p);
          CHECK_MSG(std::memcmp(got.p, want.p, size * sizeof(float)) == 0,
                    ks->name << " pack_b trans=" << trans << " n=" << n << " k=" << k);
          CHECK_MSG(got.guard_intact(), ks->name << " pack_b wrote past its panels");
        }
      }
    }
  }
}

AF_TEST("gemm kernels: every tile size, packed and in place, bit-identical and correct") {
  std::mt19937 rng(23);
  for (const KernelSet* ks : all_kernel_sets()) {
    const int MR = ks->mr, NR = ks->nr;
    for (int kc : {0, 1, 5, 64, 301}) {
      for (int mr = 1; mr <= MR; ++mr) {
        for (int nr : {1, 7, 8, 9, 15, 16, 17, NR - 1, NR}) {
          if (nr < 1 || nr > NR) continue;
          for (float beta : {0.0f, 1.5f}) {
            // op(A) [mr, kc] stored row-major (lda) and transposed (ldat); B [kc, nr] (ldb).
            Mat A(mr, kc, kc + 2, rng), At(kc, mr, mr + 2, rng), B(kc, nr, nr + 1, rng);
            for (int i = 0; i < mr; ++i)
              for (int p = 0; p < kc; ++p) At.v[size_t(p) * At.ld + i] = A.v[size_t(i) * A.ld + p];
            Aligned ap(size_t(MR) * kc + 1), bp(size_t(NR) * kc + 1);
            af::cpu::gemm_detail::pack_a_ref(MR, false, mr, kc, A.data(), A.ld, ap.p);
            af::cpu::gemm_detail::pack_b_ref(NR, false, kc, nr, B.data(), B.ld, bp.p);
            Mat C0(mr, nr, nr + 4, rng, kSentinel);
            if (beta == 0.0f) C0.fill_values(kNaN);
            Mat R = C0;
            sgemm_reference(false, false, mr, nr, kc, 0.75f, A.data(), A.ld, B.data(), B.ld, beta, R.data(), R.ld);
            const std::string what = std::string(ks->name) + " mr=" + std::to_string(mr) + " nr=" +
                                     std::to_string(nr) + " kc=" + std::to_string(kc) + " beta=" + std::to_string(beta);
            // Packed A and B; A in place (both layouts) with B in place.
            Mat C1 = C0, C2 = C0, C3 = C0;
            ks->kernel(kc, ap.p, 1, MR, bp.p, NR, true, C1.data(), C1.ld, mr, nr, 0.75f, beta);
            ks->kernel(kc, A.data(), A.ld, 1, B.data(), B.ld, false, C2.data(), C2.ld, mr, nr, 0.75f, beta);
            ks->kernel(kc, At.data(), 1, At.ld, B.data(), B.ld, false, C3.data(), C3.ld, mr, nr, 0.75f, beta);
            CHECK_MSG(C1.v == C2.v && C1.v == C3.v, what << ": packed and in-place results differ");
            const std::vector<float> got = C1.dense(), want = R.dense();
            const double err = af::test::max_rel_error(got.data(), want.data(), got.size());
            CHECK_MSG(err <= 1e-5, what << ": max rel error " << err);
            for (int i = 0; i < mr; ++i)
              for (int j = nr; j < C1.ld; ++j) CHECK_MSG(C1.v[size_t(i) * C1.ld + j] == kSentinel, what << ": wrote C padding");
          }
        }
      }
    }
  }
}
