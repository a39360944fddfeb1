// Per-era neutralization: residuals of Y on [X, 1] (or X), era by era.
//
// Three ways to get the least-squares residual, all of them QR-based:
//  * Cholesky: the Gram matrix of the centred, unit-scaled era block, its Cholesky
//    factor (which is the R factor of that block's QR, "CholeskyQR"), and one step of
//    iterative refinement where the era is not well conditioned. For small-integer
//    features (int8 0..4, or such values stored as floats) the Gram matrix is formed
//    exactly, with byte arithmetic (byte_gram.hpp) or a float32 product. Fastest; the
//    default. The era's rows are streamed in cache-sized chunks: no n x k float64 copy.
//    On the byte route the residual passes run on the era's byte columns (byte_pass),
//    and a large era takes a float32 factor refined until the float64 residual converges.
//  * Householder: unpivoted Householder QR of the centred, unit-scaled era block.
//  * Pivoted: column-pivoted Householder QR, rank-revealing. Used for any era where the
//    two above detect (near) rank deficiency, and selectable for all eras.
// Each era's result depends on that era's rows only; threads run over eras.
#pragma once

#include <neutralkit/byte_gram.hpp>
#include <neutralkit/types.hpp>

#include <Eigen/Cholesky>
#include <Eigen/QR>

#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace neutralkit {

enum class Method : int { Cholesky = 0, Householder = 1, Pivoted = 2 };

// What was actually run for an era (reported back so users and tests can see it).
enum class EraPath : std::uint8_t { Cholesky = 0, Householder = 1, Pivoted = 2, NoExposure = 3 };

struct NeutralizeOptions {
    bool intercept = true;
    bool standardize = false;
    Method method = Method::Cholesky;
    // Pivoted QR treats a pivot as zero below rcond * (largest pivot), like lstsq's rcond.
    double rcond = 1e-6;
    // Cholesky/Householder give the era to pivoted QR when the smallest squared pivot of
    // the unit-scaled problem falls below this (the era is then too close to singular
    // for normal equations to meet the 1e-9 accuracy goal).
    double min_pivot = 1e-9;
    // ... and do one step of iterative refinement when it falls below this (the error of
    // normal equations grows with the condition number; above this it is ~1e-13).
    double refine_below = 0.05;
    // Continuous float features: factorize a float32 Gram matrix (twice the float64 rate)
    // and iterate the float64 residual to convergence (mixed-precision refinement), if
    // the float32 factor's smallest squared pivot is at least approx_min_pivot.
    bool allow_approximate = true;
    double approx_min_pivot = 1e-3;
    int n_threads = 1;
};

// One era's factorization. `kept` are the exposure columns that carry information in
// the era: columns constant within the era lie in the span of the intercept and are
// left out before factorizing (with intercept=false only all-zero columns are).
struct EraSolver {
    EraPath path = EraPath::NoExposure;
    bool refine = false;
    bool approximate = false;  // float32 Gram factor: iterate the residual to convergence
    Index rows = 0;
    std::vector<Index> kept;
    // A kept column c enters the solvers as ldexp(x - origin[c], exponent[c]) - mean[c]:
    //  * origin (integer exposures with an intercept: int64, or any "tight" column;
    //    empty otherwise): the column's minimum, subtracted in integer arithmetic, so
    //    values past 2^53 (nanosecond timestamps) are centred exactly instead of after
    //    rounding to float64;
    //  * shift (float exposures with an intercept and a tight column; empty otherwise):
    //    the minimum of each tight column (0 for the others), subtracted first: exact
    //    (Sterbenz), so the mean is taken of the small differences. A column is tight
    //    when its spread is below 2^-26 of its magnitude (1e9 + 0..4, or two adjacent
    //    doubles): there, the rounding of a mean taken directly would be a sizeable part
    //    of the spread, and with the intercept handled by centring, a centring error
    //    tilts the column's direction;
    //  * exponent (empty unless some column needs it): a power-of-two scale for columns
    //    whose magnitude lies outside [2^-60, 2^60], so that 1e200, 1e-200 or
    //    denormal columns neither overflow nor underflow in the Gram matrix (exact: it
    //    only moves the binary exponent). Other columns get exponent 0;
    //  * mean: the column mean in those units (zeros without intercept).
    // Scaling a column does not change the space it spans, hence not the residual.
    std::vector<std::int64_t> origin;
    std::vector<double> shift;
    std::vector<int> exponent;
    Eigen::VectorXd mean;
    Eigen::VectorXd scale;  // 1 / norm of each centred kept column
    // The Cholesky factor L (lower triangle; the upper one is left over from the Gram
    // matrix it was computed from, in place) of the scaled Gram matrix, in float64, or,
    // on the exact byte route with a large k, in float32 (factor32, then `approximate`:
    // the float64 residual is refined to convergence, see residualize). One of the two
    // is non-empty on the Cholesky path.
    Eigen::MatrixXd factor;
    Eigen::MatrixXf factor32;
    // Byte route (factorize(), for transform(): the era's byte columns are made again
    // from x there, for the fast residual passes): each kept column's shift and the
    // mean of its shifted integers, and the grid; byte_grid 0: not the byte route.
    std::vector<double> byte_shift, byte_mu;
    double byte_grid = 0.0;
    Eigen::HouseholderQR<Eigen::MatrixXd> householder;
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> pivoted;
};

namespace detail {

template <class T>
constexpr bool is_integer_v = std::is_integral<T>::value;

// Column statistics of one era block, for choosing kept columns and centring.
#if defined(__SIZEOF_INT128__)
using Int128 = __int128;
#else
using Int128 = long double;  // 64-bit mantissa on x87: exact for realistic era sums
#endif

// Accumulator of exact integer column sums.
template <class T>
using WideSum = std::conditional_t<(sizeof(T) >= 8), Int128, std::int64_t>;

template <class T>
struct ColumnStats {
    std::vector<double> sum;
    std::vector<double> mean_from_lo;  // integers: mean(x - lo), from the exact sum
    std::vector<T> lo, hi;
    double max_abs = 0.0;
    // The data are integers on a grid of step 1/grid (grid 1: integers, grid 4: quarters,
    // as Numerai's older float features), so grid * x is integer-valued; 0: no grid.
    double grid = 0.0;
};

template <class T>
ColumnStats<T> column_stats(const StridedMatrix<T>& x, const EraIndex& eras, Index e) {
    const Index n = eras.size(e), k = x.cols;
    ColumnStats<T> s;
    s.sum.assign(static_cast<std::size_t>(k), 0.0);
    s.lo.assign(static_cast<std::size_t>(k), std::numeric_limits<T>::max());
    s.hi.assign(static_cast<std::size_t>(k), std::numeric_limits<T>::lowest());
    if constexpr (is_integer_v<T>) {
        // Integer sums are exact (in int64, or 128 bits for int64 data, whose era sums
        // pass 2^63 easily), so means and the centred Gram matrix are too.
        std::vector<WideSum<T>> isum(static_cast<std::size_t>(k), 0);
        WideSum<T>* sum = isum.data();
        T* lo = s.lo.data();
        T* hi = s.hi.data();
        for (Index i = 0; i < n; ++i) {
            const Index r = eras.row(e, i);
            if (x.col_stride == 1) {  // C order: a plain loop the compiler vectorizes
                const T* src = x.data + r * x.row_stride;
                for (Index j = 0; j < k; ++j) {
                    sum[j] += src[j];
                    lo[j] = std::min(lo[j], src[j]);
                    hi[j] = std::max(hi[j], src[j]);
                }
            } else {
                for (Index j = 0; j < k; ++j) {
                    const T v = x(r, j);
                    sum[j] += v;
                    lo[j] = std::min(lo[j], v);
                    hi[j] = std::max(hi[j], v);
                }
            }
        }
        s.mean_from_lo.assign(static_cast<std::size_t>(k), 0.0);
        for (Index j = 0; j < k; ++j) {
            s.sum[j] = static_cast<double>(isum[j]);
            // sum(x - lo) / n, exact until the last rounding
            const WideSum<T> above = isum[j] - static_cast<WideSum<T>>(n) * s.lo[j];
            s.mean_from_lo[j] = static_cast<double>(above) / static_cast<double>(n);
            s.max_abs = std::max({s.max_abs, std::abs(static_cast<double>(s.lo[j])),
                                  std::abs(static_cast<double>(s.hi[j]))});
        }
        s.grid = 1.0;
    } else {
        // Integer-valued floats (int8 features loaded as float32/float64) are common:
        // detect them, so that they can take the exact integer routes too.
        bool integral = true, quarters = true;
        double* sum = s.sum.data();
        T* lo = s.lo.data();
        T* hi = s.hi.data();
        auto visit = [&](Index j, T v) {
            const double d = static_cast<double>(v);
            sum[j] += d;
            lo[j] = std::min(lo[j], v);
            hi[j] = std::max(hi[j], v);
            integral &= std::floor(d) == d;
            quarters &= std::floor(4.0 * d) == 4.0 * d;
        };
        for (Index i = 0; i < n; ++i) {
            const Index r = eras.row(e, i);
            if (x.col_stride == 1) {  // C order: a plain loop the compiler vectorizes
                const T* src = x.data + r * x.row_stride;
                for (Index j = 0; j < k; ++j) visit(j, src[j]);
            } else {
                for (Index j = 0; j < k; ++j) visit(j, x(r, j));
            }
        }
        for (Index j = 0; j < k; ++j)
            s.max_abs = std::max({s.max_abs, std::abs(static_cast<double>(s.lo[j])),
                                  std::abs(static_cast<double>(s.hi[j]))});
        // Below 2^40 every sum of up to 2^12 grid values (and the grid values) is exact.
        if (s.max_abs < 1.0e12) s.grid = integral ? 1.0 : (quarters ? 4.0 : 0.0);
    }
    return s;
}

// Rows are streamed in chunks of this many: a chunk of int8 rows converted to float64
// fits in cache, so no n x k float64 copy of an era is ever made on the fast path.
constexpr Index kChunkRows = 256;
// The residual passes take fewer rows at a time: a 64-row chunk of k = 705 float64
// columns (360 KB) stays in L2 between its conversion and its two products (one era at
// k = 705: a pass 4.2 -> 3.8 ms CPU; k = 2376 unchanged, and 3.6 MB less memory).
constexpr Index kSolveChunkRows = 64;
// Exact byte route: a float32 Cholesky factor, refined by byte passes until the float64
// residual converges (3 passes instead of 1 on well-conditioned eras), when what it saves
// on the factorization exceeds the two extra passes. Measured (one era, n = 5000, m = 10,
// CPU ms, float64 vs float32 factor, factorization + passes): k = 1500 36.0 vs 36.3,
// k = 1800 54.8 vs 52.7, k = 2376 115 vs 94: the saving grows like ~1.7e-9 k^3 ms, the
// two passes cost ~9.6e-8 k n m ms, so: k^2 > 56 n m (k > ~1670 for n = 5000, m = 10).
inline bool float32_factor_pays(Index k, Index n, Index m) {
    const double kk = static_cast<double>(k), nn = static_cast<double>(n),
                 mm = static_cast<double>(m);
    return m > 0 && kk * kk > 56.0 * nn * mm;
}

// The era's shifted integer columns q = grid * x - shift (0..15) as bytes, kept from the
// exact byte Gram matrix for the residual passes of the same era (byte_pass), with what
// turns them back into the centred columns: x - mean = (q - mu) / grid.
struct EraBytes {
    ByteColumns cols = ByteColumns(0, 0);
    Index rows = 0;  // the era's rows (cols.col(j)[i], i < rows)
    std::vector<double> mu, shift;
    double grid = 1.0;
    bool valid = false;  // filled for the era being solved
    Index rhs_cols = 0;  // columns of Y the era will be solved for (0: unknown)

    // cols for n rows and k columns: the buffer of the previous era when the shape is
    // the same (its padding is still zero, never written), else a fresh one
    void reshape(Index n, Index k) {
        if (cols.cols == k && rows == n) return;
        cols = ByteColumns(0, 0);  // free before allocating
        cols = ByteColumns(n, k);
        rows = n;
    }
};

// Buffers reused from era to era and from call to call: the Gram matrix (which also
// holds the float64 Cholesky factor, computed in place), the float32 factor, the era's
// byte columns (byte route: from the Gram matrix to the era's last residual pass; with
// the factor in place, the era's peak is below the old Gram + factor copy), the
// column-major residual of the byte passes, and the row chunk of the other passes.
// Fresh allocations of this size are mapped pages that fault in on first touch and are
// unmapped when freed: an era at k = 705 (one era per call) spent ~18% of its CPU time
// there (benchmarks/RESULTS.md, issue 14). Each thread takes a workspace from a
// process-wide pool when it first needs one and gives it back when it exits (kernel
// worker threads, and the bindings' interruptible runner, are short-lived) or when a
// kernel entry point returns (WorkspaceRelease). The pool keeps workspaces only up to
// kKeepBytes in total (k = 705 needs ~8 MB; k = 2376 ~80 MB, where fresh Gram and factor
// buffers go on huge pages instead, see square_buffer): the rest is freed.
struct Workspace {
    Eigen::MatrixXd gram;
    RowMatrixXd chunk;
    Eigen::MatrixXf gram32;  // the float32 factor, when one is tried
    EraBytes bytes;
    Eigen::VectorXd rt;  // the residual, column-major, in byte_pass (64-byte aligned)

    std::size_t footprint() const {
        return sizeof(double) * static_cast<std::size_t>(gram.size() + chunk.size()) +
               sizeof(float) * static_cast<std::size_t>(gram32.size()) + bytes.cols.data.size() +
               sizeof(double) * static_cast<std::size_t>(rt.size());
    }
};

constexpr std::size_t kKeepBytes = std::size_t{32} << 20;

// m (square, k x k) resized for a new era; a new allocation of several MB is advised
// onto transparent huge pages (where the system leaves that to madvise) before its
// first touch: one era at k = 2376 in a call of its own (its workspace is not kept)
// spent ~20 ms of ~120 in page faults with 4 KiB pages (RESULTS.md, issue 14).
template <class M>
void square_buffer(M& m, Index k) {
    if (m.rows() == k && m.cols() == k) return;
    m.resize(k, k);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
    const std::size_t bytes = sizeof(typename M::Scalar) * static_cast<std::size_t>(m.size());
    if (bytes < 2 * kHuge) return;
    const auto a = reinterpret_cast<std::uintptr_t>(m.data());
    const std::uintptr_t lo = (a + kHuge - 1) & ~(kHuge - 1), hi = (a + bytes) & ~(kHuge - 1);
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);  // a hint only
#endif
}

class WorkspacePool {
public:
    Workspace take() {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (kept_.empty()) return Workspace();
        Workspace w = std::move(kept_.back());
        kept_.pop_back();
        total_ -= w.footprint();
        return w;
    }
    void give(Workspace&& w) {
        Workspace local = std::move(w);  // freed here unless kept
        const std::size_t size = local.footprint();
        if (size == 0) return;
        const std::lock_guard<std::mutex> lock(mutex_);
        if (total_ + size > kKeepBytes) return;
        total_ += size;
        kept_.push_back(std::move(local));
    }

private:
    std::mutex mutex_;
    std::vector<Workspace> kept_;
    std::size_t total_ = 0;
};

inline WorkspacePool& workspace_pool() {
    static auto* pool = new WorkspacePool();  // never destroyed: threads may outlive statics
    return *pool;
}

struct WorkspaceHolder {
    Workspace w;
    bool taken = false;
    void give_back() {
        if (taken) workspace_pool().give(std::move(w));
        w = Workspace();
        taken = false;
    }
    ~WorkspaceHolder() { give_back(); }
};

inline WorkspaceHolder& workspace_holder() {
    thread_local WorkspaceHolder h;
    return h;
}

inline Workspace& workspace() {
    WorkspaceHolder& h = workspace_holder();
    if (!h.taken) {
        h.w = workspace_pool().take();
        h.taken = true;
    }
    return h.w;
}

// At the end of a kernel entry point: the calling thread's workspace back to the pool.
struct WorkspaceRelease {
    WorkspaceRelease() = default;
    WorkspaceRelease(const WorkspaceRelease&) = delete;
    WorkspaceRelease& operator=(const WorkspaceRelease&) = delete;
    ~WorkspaceRelease() { workspace_holder().give_back(); }
};

// One value of kept column c in the solver's units (see EraSolver), before the mean.
template <class T>
double solver_units(const EraSolver& s, T v, Index c) {
    double d;
    if constexpr (is_integer_v<T>) {
        // v >= origin: the difference fits uint64 whatever the values
        d = s.origin.empty() ? static_cast<double>(v)
                             : static_cast<double>(static_cast<std::uint64_t>(v) -
                                                   static_cast<std::uint64_t>(s.origin[c]));
    } else {
        d = s.shift.empty() ? static_cast<double>(v) : static_cast<double>(v) - s.shift[c];
    }
    return s.exponent.empty() ? d : std::ldexp(d, s.exponent[c]);
}

// dst = rows [i0, i0 + rows) of era e, kept columns only; centred (in the solver's
// units) when `centre` is given, raw otherwise.
template <class T, class S>
void load_chunk(const StridedMatrix<T>& x, const EraIndex& eras, Index e, Index i0, Index rows,
                const std::vector<Index>& kept, const EraSolver* centre,
                Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& dst) {
    const Index kk = static_cast<Index>(kept.size());
    dst.resize(rows, kk);
    if (centre &&
        (!centre->origin.empty() || !centre->shift.empty() || !centre->exponent.empty())) {
        // rare: int64 with an intercept, or columns far from 1 in magnitude
        for (Index i = 0; i < rows; ++i) {
            const Index r = eras.row(e, i0 + i);
            for (Index c = 0; c < kk; ++c)
                dst(i, c) =
                    static_cast<S>(solver_units(*centre, x(r, kept[c]), c) - centre->mean[c]);
        }
        return;
    }
    const Eigen::VectorXd* mean = centre ? &centre->mean : nullptr;
    const bool contiguous = x.col_stride == 1 && kk == x.cols;
    for (Index i = 0; i < rows; ++i) {
        const Index r = eras.row(e, i0 + i);
        S* out = dst.row(i).data();
        if (contiguous) {
            const T* src = x.data + r * x.row_stride;
            for (Index c = 0; c < kk; ++c) out[c] = static_cast<S>(src[c]);
        } else {
            for (Index c = 0; c < kk; ++c) out[c] = static_cast<S>(x(r, kept[c]));
        }
        if (mean) {
            for (Index c = 0; c < kk; ++c) out[c] = static_cast<S>(out[c] - (*mean)[c]);
        }
    }
}

// The era's kept columns as float64, centred when there is an intercept (QR paths).
template <class T>
void gather_centred(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                    const EraSolver& solver, RowMatrixXd& xd) {
    load_chunk(x, eras, e, 0, eras.size(e), solver.kept, &solver, xd);
}

// The era's kept columns, shifted by `shift`, as feature-major bytes. Rows are taken in
// blocks so that the reads of each block stay in L1 while it is transposed.
#if defined(__SSE2__)
// v[t] = byte t of each of the 16 vectors, i.e. the 16 x 16 byte block transposed: four
// rounds of interleaving 8-, 16-, 32- and 64-bit units of vector pairs.
inline void transpose_16x16(__m128i* v) {
    __m128i t1[16], t2[16], t3[16];
    for (int p = 0; p < 8; ++p) {  // t1[2p + h]: rows 2p, 2p + 1 of columns 8h..8h + 7
        t1[2 * p] = _mm_unpacklo_epi8(v[2 * p], v[2 * p + 1]);
        t1[2 * p + 1] = _mm_unpackhi_epi8(v[2 * p], v[2 * p + 1]);
    }
    for (int q = 0; q < 4; ++q)  // t2[4q + 2h + l]: rows 4q..4q + 3 of columns 8h + 4l..
        for (int h = 0; h < 2; ++h) {
            const __m128i a = t1[4 * q + h], c = t1[4 * q + 2 + h];
            t2[4 * q + 2 * h] = _mm_unpacklo_epi16(a, c);
            t2[4 * q + 2 * h + 1] = _mm_unpackhi_epi16(a, c);
        }
    for (int r = 0; r < 2; ++r)  // t3[8r + 4h + 2l + m]: rows 8r..8r + 7, columns 8h + 4l + 2m..
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 2; ++l) {
                const __m128i a = t2[8 * r + 2 * h + l], c = t2[8 * r + 4 + 2 * h + l];
                t3[8 * r + 4 * h + 2 * l] = _mm_unpacklo_epi32(a, c);
                t3[8 * r + 4 * h + 2 * l + 1] = _mm_unpackhi_epi32(a, c);
            }
    for (int j = 0; j < 16; j += 2) {  // column j = 8h + 4l + 2m (+1): rows 0..7, 8..15
        const __m128i a = t3[j / 2], c = t3[8 + j / 2];
        v[j] = _mm_unpacklo_epi64(a, c);
        v[j + 1] = _mm_unpackhi_epi64(a, c);
    }
}
#endif

// `b` must have the era's shape (n rows, kk columns) and zero padding: a fresh
// ByteColumns(n, kk), or one filled before for the same shape (its padding is never
// written).
template <class T>
void byte_columns(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                  const std::vector<Index>& kept, const std::vector<double>& shift, double grid,
                  ByteColumns& b) {
    const Index n = eras.size(e), kk = static_cast<Index>(kept.size());
    // Convert a block of rows to a small row-major byte tile (contiguous reads of the
    // input), then transpose the tile (cheap: bytes, in L1).
    constexpr Index kBlock = 64;
    std::vector<std::uint8_t> tile(static_cast<std::size_t>(kBlock * kk));
    std::vector<std::int64_t> lo(static_cast<std::size_t>(kk));
    for (Index c = 0; c < kk; ++c) lo[c] = static_cast<std::int64_t>(shift[c]);
    std::vector<std::uint8_t> lo8(static_cast<std::size_t>(kk));
    for (Index c = 0; c < kk; ++c)
        lo8[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(lo[c]);
    const bool contiguous = x.col_stride == 1 && kk == x.cols;  // every column kept, in order
    Index done = 0;                                             // rows already written
#if defined(__SSE2__)
    if constexpr (is_integer_v<T> && sizeof(T) == 1) {
        if (contiguous) {
            // 16 x 16 byte blocks: 16 loads, a register transpose, 16 stores (one era at
            // k = 705: 0.9 -> ~0.3 ms); the last columns and rows are left to the tiles
            const Index k16 = kk / 16 * 16;
            const std::uint8_t* rows[16];
            for (; done + 16 <= n; done += 16) {
                for (int t = 0; t < 16; ++t)
                    rows[t] = reinterpret_cast<const std::uint8_t*>(x.data) +
                              eras.row(e, done + t) * x.row_stride;
                for (Index c0 = 0; c0 < k16; c0 += 16) {
                    const __m128i shift8 =
                        _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo8.data() + c0));
                    __m128i v[16];
                    for (int t = 0; t < 16; ++t)
                        v[t] = _mm_sub_epi8(
                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + c0)),
                            shift8);
                    transpose_16x16(v);
                    for (int j = 0; j < 16; ++j)
                        _mm_storeu_si128(reinterpret_cast<__m128i*>(b.col(c0 + j) + done), v[j]);
                }
                for (Index c = k16; c < kk; ++c) {
                    std::uint8_t* dst = b.col(c) + done;
                    const std::uint8_t l = lo8[static_cast<std::size_t>(c)];
                    for (int t = 0; t < 16; ++t) dst[t] = static_cast<std::uint8_t>(rows[t][c] - l);
                }
            }
        }
    }
#endif
    for (Index i0 = done; i0 < n; i0 += kBlock) {
        const Index rows = std::min(kBlock, n - i0);
        for (Index i = 0; i < rows; ++i) {
            const Index r = eras.row(e, i0 + i);
            std::uint8_t* dst = tile.data() + i * kk;
            if constexpr (is_integer_v<T>) {
                if (contiguous) {
                    // (v - lo) lies in [0, 15]: exact in wrapping byte arithmetic, which
                    // the compiler vectorizes
                    const T* src = x.data + r * x.row_stride;
                    for (Index c = 0; c < kk; ++c)
                        dst[c] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(src[c]) -
                                                           lo8[static_cast<std::size_t>(c)]);
                    continue;
                }
            }
            for (Index c = 0; c < kk; ++c) {
                const T v = x(r, kept[c]);
                // grid * v is an integer (checked in column_stats): the conversion is exact
                const auto q = is_integer_v<T>
                                   ? static_cast<std::int64_t>(v)
                                   : static_cast<std::int64_t>(grid * static_cast<double>(v));
                dst[c] = static_cast<std::uint8_t>(q - lo[c]);
            }
        }
        for (Index c = 0; c < kk; ++c) {
            std::uint8_t* dst = b.col(c) + i0;
            for (Index i = 0; i < rows; ++i) dst[i] = tile[static_cast<std::size_t>(i * kk + c)];
        }
    }
}

// Gram matrix of the era's centred kept columns. Three routes, fastest first:
//  * small non-negative integers (after shifting each column to start at 0, which leaves
//    the centred Gram matrix unchanged): exact byte arithmetic (byte_gram.hpp). Floats
//    whose values are integers or quarters (int8 features loaded as float) qualify too:
//    their Gram matrix is that of 4x (or x), divided by 16 (or 1), exactly;
//  * other small integers: entries and every partial sum are integers below 2^24, so a
//    float32 product (twice the float64 rate) is exact;
//  * anything else: float64 product of the centred columns.
// In the integer routes the centring (n G - s s^T) / n is an exact integer in float64
// until the final division, so the centred Gram matrix carries a single rounding.
// On the byte route the byte columns are left in `keep` (when given) for byte_pass.
template <class T>
void centred_gram(const StridedMatrix<T>& x, const EraIndex& eras, Index e, const EraSolver& solver,
                  const ColumnStats<T>& stats, bool intercept, Eigen::MatrixXd& g,
                  EraBytes* keep = nullptr, std::vector<double>* defer = nullptr) {
    if (keep) keep->valid = false;
    if (defer) defer->clear();
    const Index n = eras.size(e), kk = static_cast<Index>(solver.kept.size());
    const double nn = static_cast<double>(n);
    if (stats.grid > 0.0) {
        // work on the integers q = grid * x: shifted sums and the largest shifted value
        const double grid = stats.grid;
        std::vector<double> shift(static_cast<std::size_t>(kk), 0.0), sum(shift);
        double max_value = 0.0, min_value = 0.0;
        for (Index c = 0; c < kk; ++c) {
            const Index j = solver.kept[c];
            if (intercept) shift[c] = grid * static_cast<double>(stats.lo[j]);
            sum[c] = grid * stats.sum[j] - nn * shift[c];
            max_value = std::max(max_value, grid * static_cast<double>(stats.hi[j]) - shift[c]);
            min_value = std::min(min_value, grid * static_cast<double>(stats.lo[j]) - shift[c]);
        }
        const double shifted_abs = std::max(max_value, -min_value);
        const double q_abs = grid * stats.max_abs;
        const bool exact_sums = nn * q_abs < 4.0e15;
        const bool bytes = byte_gram_available() && exact_sums && min_value >= 0.0 &&
                           max_value <= kByteGramMaxValue &&
                           nn * nn * shifted_abs * shifted_abs < 9.0e15;
        const bool floats =
            is_integer_v<T> && nn * q_abs * q_abs < 16777216.0 && nn * nn * q_abs * q_abs < 9.0e15;
        if (bytes || floats) {
            if (bytes && keep) {
                // reuse the previous era's buffer when the shape is the same (its padding
                // is still zero), else a fresh one
                keep->reshape(n, kk);
                // a local object while the kernels run: GCC then keeps its fields in
                // registers (through keep->cols the Gram kernel measured ~25% slower)
                ByteColumns b = std::move(keep->cols);
                byte_columns(x, eras, e, solver.kept, shift, grid, b);
                byte_gram(b, static_cast<int>(max_value), g);
                keep->cols = std::move(b);
                keep->mu.resize(static_cast<std::size_t>(kk));
                for (Index c = 0; c < kk; ++c)
                    keep->mu[static_cast<std::size_t>(c)] = intercept ? sum[c] / nn : 0.0;
                keep->grid = grid;
                keep->shift = shift;
                keep->valid = true;
            } else if (bytes) {
                ByteColumns b(n, kk);
                byte_columns(x, eras, e, solver.kept, shift, grid, b);
                byte_gram(b, static_cast<int>(max_value), g);
            } else {
                Eigen::MatrixXf gf = Eigen::MatrixXf::Zero(kk, kk);
                RowMatrixXf chunk;
                for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
                    load_chunk(x, eras, e, i0, std::min(kChunkRows, n - i0), solver.kept, nullptr,
                               chunk);
                    gf.selfadjointView<Eigen::Lower>().rankUpdate(chunk.transpose());
                }
                g = gf.selfadjointView<Eigen::Lower>().toDenseMatrix().cast<double>();
                for (Index c = 0; c < kk; ++c) sum[c] = stats.sum[solver.kept[c]];  // unshifted
            }
            if (intercept && defer && bytes && keep && grid == 1.0) {
                // the caller centres the lower triangle, fused with the unit scaling
                *defer = std::move(sum);
                return;
            }
            if (intercept) {
                for (Index b = 0; b < kk; ++b)
                    for (Index a = 0; a < kk; ++a) g(a, b) = (nn * g(a, b) - sum[a] * sum[b]) / nn;
            }
            if (grid != 1.0) g /= grid * grid;  // a power of two: exact
            return;
        }
    }
    g.setZero(kk, kk);
    RowMatrixXd chunk;
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
        load_chunk(x, eras, e, i0, std::min(kChunkRows, n - i0), solver.kept, &solver, chunk);
        g.selfadjointView<Eigen::Lower>().rankUpdate(chunk.transpose());
    }
    for (Index b = 1; b < kk; ++b)
        for (Index a = 0; a < b; ++a) g(a, b) = g(b, a);  // the upper triangle from the lower
}

// Gram matrix of the centred kept columns from a float32 product: a preconditioner
// only (iterative refinement in float64 makes the residual exact).
template <class T>
void float_centred_gram(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                        const EraSolver& solver, Eigen::MatrixXd& g) {
    const Index n = eras.size(e), kk = static_cast<Index>(solver.kept.size());
    Eigen::MatrixXf gf = Eigen::MatrixXf::Zero(kk, kk);
    RowMatrixXf chunk;
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
        load_chunk(x, eras, e, i0, std::min(kChunkRows, n - i0), solver.kept, &solver, chunk);
        gf.selfadjointView<Eigen::Lower>().rankUpdate(chunk.transpose());
    }
    g = gf.selfadjointView<Eigen::Lower>().toDenseMatrix().cast<double>();
}

// Relative size (of the centred Y column's norm) below which a residual counts as zero.
constexpr double kNoSpread = 1e-10;

template <class Col>
double sample_std(const Col& col) {
    const Index n = col.size();
    if (n < 2) return 0.0;
    return std::sqrt((col.array() - col.mean()).square().sum() / static_cast<double>(n - 1));
}

inline double min_squared_diagonal(const Eigen::MatrixXd& tri) {
    return tri.diagonal().cwiseAbs2().minCoeff();
}

// rhs <- (L L^T)^-1 rhs with the era's factor (float64, or float32 then cast back).
inline void solve_factor(const EraSolver& s, Eigen::MatrixXd& rhs) {
    if (s.factor32.size() > 0) {
        Eigen::MatrixXf r = rhs.cast<float>();
        const auto lower = s.factor32.triangularView<Eigen::Lower>();
        lower.solveInPlace(r);
        lower.transpose().solveInPlace(r);
        rhs = r.cast<double>();
    } else {
        const auto lower = s.factor.triangularView<Eigen::Lower>();
        lower.solveInPlace(rhs);
        lower.transpose().solveInPlace(rhs);
    }
}

// The residual pass on the byte route, from the era's byte columns q (EraBytes) instead
// of the rows of x: Xc^T R = (Q^T R - mu (1^T R)) / grid and Xc B = (Q B - 1 mu^T B) /
// grid, in float64 with AVX-512, the bytes converted in registers. R is held column-major
// (rt: m columns of nr >= n rows, rows n.. zero), so both products run along the rows.
constexpr bool byte_pass_available() {
#if defined(__AVX512F__)
    return true;
#else
    return false;
#endif
}

#if defined(__AVX512F__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined operands inside its own AVX-512 intrinsics as
// uninitialized once they are inlined here (a false positive, GCC bug 105593)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Eight bytes (values 0..15) -> eight doubles.
inline __m512d load_bytes_pd(const std::uint8_t* p) {
    return _mm512_cvtepi32_pd(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// f(std::integral_constant<int, w>) for 1 <= w <= Max (w clamped to that range): a
// run-time width to the kernel instantiated for it.
template <int Max, class F>
void dispatch_width(Index w, F&& f) {
    if constexpr (Max > 1) {
        if (w < Max) return dispatch_width<Max - 1>(w, std::forward<F>(f));
    } else {
        (void)w;
    }
    f(std::integral_constant<int, Max>{});
}

// a[(j0 + f) * m + c0 + c] = sum over rows of q_{j0+f} * r_{c0+c}, f < FB, c < MC:
// FB x MC accumulators, each byte vector converted once for MC columns.
template <int FB, int MC>
void qtr_block(const ByteColumns& b, Index j0, const double* rt, Index rs, Index c0, Index nr,
               double* a, Index m) {
    __m512d acc[FB][MC];
#pragma GCC unroll 16
    for (int f = 0; f < FB; ++f)
#pragma GCC unroll 16
        for (int c = 0; c < MC; ++c) acc[f][c] = _mm512_setzero_pd();
    const std::uint8_t* q[FB];
#pragma GCC unroll 16
    for (int f = 0; f < FB; ++f) q[f] = b.col(j0 + f);
    const double* r = rt + c0 * rs;
    for (Index i = 0; i < nr; i += 8) {
        __m512d qv[FB];
#pragma GCC unroll 16
        for (int f = 0; f < FB; ++f) qv[f] = load_bytes_pd(q[f] + i);
#pragma GCC unroll 16
        for (int c = 0; c < MC; ++c) {
            const __m512d rv = _mm512_loadu_pd(r + c * rs + i);
#pragma GCC unroll 16
            for (int f = 0; f < FB; ++f) acc[f][c] = _mm512_fmadd_pd(qv[f], rv, acc[f][c]);
        }
    }
#pragma GCC unroll 16
    for (int f = 0; f < FB; ++f)
#pragma GCC unroll 16
        for (int c = 0; c < MC; ++c) a[(j0 + f) * m + c0 + c] = _mm512_reduce_add_pd(acc[f][c]);
}

constexpr int kPassFeatures = 4;  // FB of qtr_block
constexpr int kPassColsA = 6;     // largest MC of qtr_block
constexpr int kPassRowsB = 2;     // RB of qb_block (x 8 rows)
constexpr int kPassColsB = 10;    // largest MC of qb_block

template <int FB>
void qtr_features(const ByteColumns& b, Index j0, const double* rt, Index rs, Index nr, double* a,
                  Index m) {
    for (Index c0 = 0; c0 < m;) {
        const Index left = m - c0, blocks = (left + kPassColsA - 1) / kPassColsA;
        const Index mc = (left + blocks - 1) / blocks;  // even blocks: 10 -> 5 + 5
        dispatch_width<kPassColsA>(mc, [&](auto mcols) {
            qtr_block<FB, decltype(mcols)::value>(b, j0, rt, rs, c0, nr, a, m);
        });
        c0 += mc;
    }
}

// a (kk x m, row-major) = Q^T R over nr rows.
inline void qtr(const ByteColumns& b, Index kk, const double* rt, Index rs, Index nr, double* a,
                Index m) {
    Index j0 = 0;
    for (; j0 + kPassFeatures <= kk; j0 += kPassFeatures)
        qtr_features<kPassFeatures>(b, j0, rt, rs, nr, a, m);
    for (; j0 < kk; ++j0) qtr_features<1>(b, j0, rt, rs, nr, a, m);
}

// Rows [i0, i0 + 8 RB), columns [c0, c0 + MC) of R += 1 corr^T - Q B' (bp: B', kk x m
// row-major), the features [j0, j1) of the product only (corr: null, or added here);
// rows at or past n are left alone.
template <int RB, int MC>
void qb_block(const ByteColumns& b, Index j0, Index j1, const double* bp, Index m,
              const double* corr, double* rt, Index rs, Index c0, Index i0, Index n,
              Index prefetch) {
    __m512d acc[RB][MC];
#pragma GCC unroll 16
    for (int c = 0; c < MC; ++c) {
        const __m512d v = corr ? _mm512_set1_pd(corr[c0 + c]) : _mm512_setzero_pd();
#pragma GCC unroll 16
        for (int rb = 0; rb < RB; ++rb) acc[rb][c] = v;
    }
    const double* bj = bp + j0 * m + c0;
    for (Index j = j0; j < j1; ++j, bj += m) {
        const std::uint8_t* qj = b.col(j) + i0;
        if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(qj + prefetch), _MM_HINT_T0);
        __m512d qv[RB];
#pragma GCC unroll 16
        for (int rb = 0; rb < RB; ++rb) qv[rb] = load_bytes_pd(qj + 8 * rb);
#pragma GCC unroll 16
        for (int c = 0; c < MC; ++c) {
            const __m512d bb = _mm512_set1_pd(bj[c]);
#pragma GCC unroll 16
            for (int rb = 0; rb < RB; ++rb) acc[rb][c] = _mm512_fnmadd_pd(qv[rb], bb, acc[rb][c]);
        }
    }
#pragma GCC unroll 16
    for (int rb = 0; rb < RB; ++rb) {
        const Index left = n - (i0 + 8 * rb);
        const __mmask8 mask = left >= 8   ? static_cast<__mmask8>(0xFF)
                              : left <= 0 ? static_cast<__mmask8>(0)
                                          : static_cast<__mmask8>((1u << left) - 1u);
#pragma GCC unroll 16
        for (int c = 0; c < MC; ++c) {
            double* p = rt + (c0 + c) * rs + i0 + 8 * rb;
            _mm512_mask_storeu_pd(p, mask, _mm512_add_pd(_mm512_load_pd(p), acc[rb][c]));
        }
    }
}

template <int RB>
void qb_rows(const ByteColumns& b, Index j0, Index j1, const double* bp, Index m,
             const double* corr, double* rt, Index rs, Index i0, Index n, Index prefetch) {
    for (Index c0 = 0; c0 < m;) {
        const Index left = m - c0, blocks = (left + kPassColsB - 1) / kPassColsB;
        const Index mc = (left + blocks - 1) / blocks;
        dispatch_width<kPassColsB>(mc, [&](auto mcols) {
            qb_block<RB, decltype(mcols)::value>(b, j0, j1, bp, m, corr, rt, rs, c0, i0, n,
                                                 prefetch);
        });
        c0 += mc;
        prefetch = 0;
    }
}

// Features per block of qb: a block's bytes for 64 rows (one cache line of each column)
// and its rows of B' stay in L1 while the 64 rows are done 16 at a time.
constexpr Index kPassFeatureBlock = 256;

// R += 1 corr^T - Q B' on rows < n (rt 64-byte aligned, rs a multiple of 8).
inline void qb(const ByteColumns& b, Index kk, const double* bp, Index m, const double* corr,
               double* rt, Index rs, Index nr, Index n) {
    for (Index j0 = 0; j0 < kk; j0 += kPassFeatureBlock) {
        const Index j1 = std::min(kk, j0 + kPassFeatureBlock);
        const double* add = j0 == 0 ? corr : nullptr;
        for (Index l0 = 0; l0 < nr; l0 += 64) {
            const Index l1 = std::min(nr, l0 + 64);
            // the first 16 rows also fetch each column's line two groups ahead (a column
            // a page apart from the next: too many streams for the hardware prefetcher)
            Index i0 = l0, prefetch = l0 + 192 < b.stride ? 128 : 0;
            for (; i0 + 8 * kPassRowsB <= l1; i0 += 8 * kPassRowsB, prefetch = 0)
                qb_rows<kPassRowsB>(b, j0, j1, bp, m, add, rt, rs, i0, n, prefetch);
            for (; i0 < l1; i0 += 8, prefetch = 0)
                qb_rows<1>(b, j0, j1, bp, m, add, rt, rs, i0, n, prefetch);
        }
    }
}
#endif

// One pass on rt (m columns of rs doubles, rows >= n zero, 64-byte aligned):
// rt -= Xc S solve(S Xc^T rt). Returns (an estimate of) the squared norm of the change.
inline double byte_pass(const EraSolver& s, const EraBytes& q, double* rt, Index rs, Index m) {
#if defined(__AVX512F__)
    const Index n = s.rows, kk = static_cast<Index>(s.kept.size()), nr = (n + 7) / 8 * 8;
    std::vector<double> colsum(static_cast<std::size_t>(m), 0.0);
    for (Index c = 0; c < m; ++c) {
        const double* r = rt + c * rs;
        double t = 0.0;
        for (Index i = 0; i < n; ++i) t += r[i];
        colsum[static_cast<std::size_t>(c)] = t;
    }
    RowMatrixXd a(kk, m);
    qtr(q.cols, kk, rt, rs, nr, a.data(), m);
    // rhs = S Xc^T R, with S / grid folded into one factor per column
    Eigen::MatrixXd rhs(kk, m);
    const double inv_grid = 1.0 / q.grid;  // a power of two
    for (Index c = 0; c < m; ++c)
        for (Index j = 0; j < kk; ++j)
            rhs(j, c) =
                s.scale[j] * inv_grid *
                (a(j, c) - q.mu[static_cast<std::size_t>(j)] * colsum[static_cast<std::size_t>(c)]);
    const Eigen::MatrixXd before = rhs;
    solve_factor(s, rhs);
    // B' = S rhs / grid (row-major for the kernel), corr = mu^T B'
    std::vector<double> corr(static_cast<std::size_t>(m), 0.0);
    for (Index j = 0; j < kk; ++j)
        for (Index c = 0; c < m; ++c) {
            const double v = s.scale[j] * inv_grid * rhs(j, c);
            a(j, c) = v;
            corr[static_cast<std::size_t>(c)] += q.mu[static_cast<std::size_t>(j)] * v;
        }
    qb(q.cols, kk, a.data(), m, corr.data(), rt, rs, nr, n);
    // The change Xc S b has squared norm b^T (S G S) b = b^T rhs for the solution b of
    // the scaled system (to the float32 factor's accuracy: enough for an estimate).
    return std::abs(before.cwiseProduct(rhs).sum());
#else
    (void)s;
    (void)q;
    (void)rt;
    (void)rs;
    (void)m;
    return 0.0;
#endif
}

// The residual from the byte columns: resid is copied into the workspace's column-major
// rt, refined there, and copied back. With the float64 factor: one pass, and a second
// where the scaled problem is not well conditioned (as cholesky_pass). With the float32
// factor: passes until the error left, estimated from the last two changes (each pass
// shrinks it by about cond * 2^-24), is below 1e-14 of Y; false (resid untouched) if
// that does not happen within 8 passes.
inline bool residualize_bytes(const EraSolver& s, const EraBytes& q, RowMatrixXd& resid) {
    const Index n = s.rows, m = resid.cols(), nr = (n + 7) / 8 * 8;
    // column-major, each column 64-byte aligned (nr is a multiple of 8 doubles): the
    // kernels' loads of it were ~2x slower unaligned
    Eigen::VectorXd& rt = workspace().rt;
    rt.setZero(m * nr);
    for (Index i = 0; i < n; ++i)
        for (Index c = 0; c < m; ++c) rt[c * nr + i] = resid(i, c);
    bool converged = false;
    if (s.factor32.size() == 0) {
        byte_pass(s, q, rt.data(), nr, m);
        if (s.refine) byte_pass(s, q, rt.data(), nr, m);
        converged = true;
    } else {
        const double tolerance = 1e-14 * resid.norm();
        double previous = 0.0;
        for (int pass = 0; pass < 8 && !converged; ++pass) {
            const double change = std::sqrt(byte_pass(s, q, rt.data(), nr, m));
            if (pass > 0) {
                const double rate = change / previous;
                converged = change <= tolerance ||
                            (rate < 0.5 && change * rate / (1.0 - rate) <= tolerance);
            }
            previous = change;
        }
    }
    if (!converged) return false;
    for (Index i = 0; i < n; ++i)
        for (Index c = 0; c < m; ++c) resid(i, c) = rt[c * nr + i];
    return true;
}

#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// resid -= Xc S solve(S Xc^T resid), streaming the era's rows in chunks.
template <class T>
void cholesky_pass(const EraSolver& s, const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                   RowMatrixXd& resid) {
    const Index n = s.rows, kk = static_cast<Index>(s.kept.size());
    Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(kk, resid.cols());
    RowMatrixXd& chunk = workspace().chunk;
    for (Index i0 = 0; i0 < n; i0 += kSolveChunkRows) {
        const Index rows = std::min(kSolveChunkRows, n - i0);
        load_chunk(x, eras, e, i0, rows, s.kept, &s, chunk);
        rhs.noalias() += chunk.transpose() * resid.middleRows(i0, rows);
    }
    rhs = s.scale.asDiagonal() * rhs;
    solve_factor(s, rhs);
    rhs = s.scale.asDiagonal() * rhs;
    for (Index i0 = 0; i0 < n; i0 += kSolveChunkRows) {
        const Index rows = std::min(kSolveChunkRows, n - i0);
        load_chunk(x, eras, e, i0, rows, s.kept, &s, chunk);
        resid.middleRows(i0, rows).noalias() -= chunk * rhs;
    }
}

// Chooses the units of each kept column (EraSolver: origin, shift, exponent) and its
// mean in them. The common case (no int64, no tight column, every column within
// [2^-60, 2^60]) leaves them empty and takes the means from the column sums made.
template <class T>
void set_units(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
               const ColumnStats<T>& stats, bool intercept, EraSolver& s) {
    const Index n = eras.size(e), kk = static_cast<Index>(s.kept.size());
    const double nn = static_cast<double>(n);
    s.mean = Eigen::VectorXd::Zero(kk);
    constexpr bool wide_integers = is_integer_v<T> && sizeof(T) >= 8;
    auto tight = [&](Index j) {
        const double lo = static_cast<double>(stats.lo[j]), hi = static_cast<double>(stats.hi[j]);
        return hi - lo < 0x1p-26 * std::max(std::abs(lo), std::abs(hi));
    };
    bool any_tight = false;
    if (intercept)
        for (Index c = 0; c < kk && !any_tight; ++c) any_tight = tight(s.kept[c]);
    if (intercept && (wide_integers || (is_integer_v<T> && any_tight))) {
        s.origin.resize(static_cast<std::size_t>(kk));
        for (Index c = 0; c < kk; ++c) s.origin[c] = static_cast<std::int64_t>(stats.lo[s.kept[c]]);
    } else if (!is_integer_v<T> && any_tight) {
        s.shift.assign(static_cast<std::size_t>(kk), 0.0);
        for (Index c = 0; c < kk; ++c)
            if (tight(s.kept[c])) s.shift[c] = static_cast<double>(stats.lo[s.kept[c]]);
    }
    constexpr double kLow = 0x1p-60, kHigh = 0x1p60;
    std::vector<int> exponent(static_cast<std::size_t>(kk), 0);
    bool scaled = false;
    for (Index c = 0; c < kk; ++c) {
        const Index j = s.kept[c];
        double magnitude;
        if (!s.origin.empty()) {  // the range hi - lo, exact in uint64
            magnitude = static_cast<double>(static_cast<std::uint64_t>(stats.hi[j]) -
                                            static_cast<std::uint64_t>(stats.lo[j]));
        } else if (!s.shift.empty() && s.shift[c] != 0.0) {
            magnitude = static_cast<double>(stats.hi[j]) - s.shift[c];
        } else {
            magnitude = std::max(std::abs(static_cast<double>(stats.lo[j])),
                                 std::abs(static_cast<double>(stats.hi[j])));
        }
        if (magnitude > 0.0 && !(magnitude >= kLow && magnitude <= kHigh)) {
            exponent[c] = -std::ilogb(magnitude);
            scaled = true;
        }
    }
    if (scaled) s.exponent = std::move(exponent);
    if (!intercept) return;
    if (s.exponent.empty() && s.shift.empty()) {
        for (Index c = 0; c < kk; ++c) {
            const Index j = s.kept[c];
            s.mean[c] = s.origin.empty() ? stats.sum[j] / nn : stats.mean_from_lo[j];
        }
        return;
    }
    // Scaled or shifted columns: the sums are taken again in the new units (the first
    // ones may have overflowed, or rounded); a rare path, so one plain pass over the era.
    for (Index c = 0; c < kk; ++c) {
        const Index j = s.kept[c];
        const bool rescaled = !s.exponent.empty() && s.exponent[c] != 0;
        const bool shifted = !s.shift.empty() && s.shift[c] != 0.0;
        if (!rescaled && !shifted) {
            s.mean[c] = s.origin.empty() ? stats.sum[j] / nn : stats.mean_from_lo[j];
            continue;
        }
        double sum = 0.0;
        for (Index i = 0; i < n; ++i) sum += solver_units(s, x(eras.row(e, i), j), c);
        s.mean[c] = sum / nn;
    }
}

}  // namespace detail

// Factorizes one era.
// With `bytes` (one-shot neutralize: the era is solved right after, on the same thread),
// the byte route leaves the era's byte columns there for byte_pass, and a large era may
// take a float32 factor (see float32_factor_pays).
template <class T>
EraSolver factorize_era(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                        const NeutralizeOptions& opt, detail::EraBytes* bytes = nullptr) {
    if (!detail::byte_pass_available()) bytes = nullptr;
    if (bytes) bytes->valid = false;
    EraSolver s;
    const Index n = eras.size(e);
    s.rows = n;
    if (n == 0) {  // an era without rows (a caller's row subset): nothing to factorize
        s.path = EraPath::NoExposure;
        return s;
    }
    const auto stats = detail::column_stats(x, eras, e);
    for (Index j = 0; j < x.cols; ++j) {
        const bool constant = !(stats.lo[j] < stats.hi[j]);
        const bool zero = constant && stats.lo[j] == T(0);
        if (opt.intercept ? !constant : !zero) s.kept.push_back(j);
    }
    const Index kk = static_cast<Index>(s.kept.size());
    detail::set_units(x, eras, e, stats, opt.intercept, s);
    if (kk == 0) {
        s.path = EraPath::NoExposure;
        return s;
    }
    // The centred block has rank <= n - 1 (<= n without intercept): a wide era cannot
    // have a positive definite Gram matrix, so go straight to the rank-revealing path.
    const Index max_rank = opt.intercept ? n - 1 : n;
    Method method = opt.method;
    if (kk > max_rank) method = Method::Pivoted;

    if (method == Method::Cholesky) {
        // First try: a float32 Gram factor for continuous float data (see the options);
        // then the exact (or float64) Gram matrix.
        const bool try_approximate =
            opt.allow_approximate && !detail::is_integer_v<T> && stats.grid == 0.0;
        for (int attempt = try_approximate ? 0 : 1; attempt < 2; ++attempt) {
            const bool approximate = attempt == 0;
            Eigen::MatrixXd& g = detail::workspace().gram;
            detail::square_buffer(g, kk);
            std::vector<double> sums;  // non-empty: g is still to be centred (lower triangle)
            if (approximate)
                detail::float_centred_gram(x, eras, e, s, g);
            else
                detail::centred_gram(x, eras, e, s, stats, opt.intercept, g, bytes, &sums);
            const bool float32 = !approximate && bytes && bytes->valid && opt.allow_approximate &&
                                 detail::float32_factor_pays(kk, n, bytes->rhs_cols);
            Eigen::MatrixXf& f = detail::workspace().gram32;
            if (float32) detail::square_buffer(f, kk);
            if (sums.empty()) {
                s.scale = g.diagonal().cwiseSqrt().cwiseInverse();
                if (!s.scale.allFinite()) continue;
                // in place: g(a, b) * scale[a] * scale[b], the same products as D g D
                for (Index b = 0; b < kk; ++b)
                    for (Index a = 0; a < kk; ++a) g(a, b) = s.scale[a] * g(a, b) * s.scale[b];
                if (float32) f = g.cast<float>();
            } else {
                // the same operations on each entry as centring all of g and then scaling
                // it, in one pass over the lower triangle (the factorizations read only
                // that; the upper one is left uncentred)
                const double nn = static_cast<double>(n);
                s.scale.resize(kk);
                for (Index a = 0; a < kk; ++a)
                    s.scale[a] = 1.0 / std::sqrt((nn * g(a, a) - sums[a] * sums[a]) / nn);
                if (!s.scale.allFinite()) continue;
                for (Index b = 0; b < kk; ++b) {
                    const double sb = sums[b], db = s.scale[b];
                    for (Index a = b; a < kk; ++a) {
                        const double v = s.scale[a] * ((nn * g(a, b) - sums[a] * sb) / nn) * db;
                        g(a, b) = v;
                        if (float32) f(a, b) = static_cast<float>(v);
                    }
                }
            }
            if (float32) {
                // float32 factor (about twice the float64 rate), refined by byte passes
                const Eigen::LLT<Eigen::Ref<Eigen::MatrixXf>> llt32(f);  // in place
                if (llt32.info() == Eigen::Success &&
                    static_cast<double>(f.diagonal().cwiseAbs2().minCoeff()) >=
                        opt.approx_min_pivot) {
                    s.factor32 = std::move(f);
                    s.path = EraPath::Cholesky;
                    s.approximate = true;
                    return s;
                }
            }
            const Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(g);  // in place
            if (llt.info() != Eigen::Success) continue;
            const double pivot = detail::min_squared_diagonal(g);
            if (pivot >= (approximate ? opt.approx_min_pivot : opt.min_pivot)) {
                s.factor = std::move(g);  // the caller may hand it back to the workspace
                s.path = EraPath::Cholesky;
                s.approximate = approximate;
                s.refine = pivot < opt.refine_below;
                return s;
            }
        }
        if (bytes) bytes->valid = false;
        method = Method::Pivoted;
    }
    RowMatrixXd xd;
    detail::gather_centred(x, eras, e, s, xd);
    Eigen::VectorXd norms = xd.colwise().norm().transpose();
    for (Index c = 0; c < kk; ++c) norms[c] = norms[c] > 0.0 ? 1.0 / norms[c] : 1.0;
    const Eigen::MatrixXd scaled = xd * norms.asDiagonal();
    if (method == Method::Householder) {
        s.householder.compute(scaled);
        const Eigen::MatrixXd r =
            s.householder.matrixQR().topRows(kk).triangularView<Eigen::Upper>();
        if (detail::min_squared_diagonal(r) >= opt.min_pivot) {
            s.path = EraPath::Householder;
            return s;
        }
        s.householder = Eigen::HouseholderQR<Eigen::MatrixXd>();
    }
    s.pivoted.setThreshold(opt.rcond);
    s.pivoted.compute(scaled);
    s.path = EraPath::Pivoted;
    return s;
}

// resid (the era's centred Y, n x m) -> the part of it orthogonal to the exposures.
// `bytes`: the era's byte columns, when factorize_era left them (then the passes run on
// them: byte_pass).
template <class T>
void residualize(const EraSolver& s, const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                 const NeutralizeOptions& opt, RowMatrixXd& resid,
                 detail::EraBytes* bytes = nullptr) {
    switch (s.path) {
        case EraPath::NoExposure:
            break;
        case EraPath::Cholesky:
            if (bytes && bytes->valid && bytes->rows == s.rows && bytes->cols.stride % 8 == 0 &&
                bytes->cols.stride >= s.rows &&
                bytes->cols.cols == static_cast<Index>(s.kept.size())) {
                if (detail::residualize_bytes(s, *bytes, resid)) break;
                // the float32 factor did not converge: redo the era with the float64 one
                NeutralizeOptions exact = opt;
                exact.allow_approximate = false;
                residualize(factorize_era(x, eras, e, exact, bytes), x, eras, e, exact, resid,
                            bytes);
                break;
            }
            if (s.approximate) {
                // Mixed precision: each pass shrinks the error by a factor of about
                // cond * 2^-24. Stop when the error left, estimated from the last two
                // changes (a geometric series), is below 1e-14 of Y.
                const RowMatrixXd centred = resid;
                const double tolerance = 1e-14 * centred.norm();
                double previous = 0.0;
                bool converged = false;
                for (int pass = 0; pass < 8 && !converged; ++pass) {
                    const RowMatrixXd before = resid;
                    detail::cholesky_pass(s, x, eras, e, resid);
                    const double change = (resid - before).norm();
                    if (pass > 0) {
                        const double rate = change / previous;
                        converged = change <= tolerance ||
                                    (rate < 0.5 && change * rate / (1.0 - rate) <= tolerance);
                    }
                    previous = change;
                }
                if (!converged) {  // too ill-conditioned for float32: redo it exactly
                    NeutralizeOptions exact = opt;
                    exact.allow_approximate = false;
                    resid = centred;
                    residualize(factorize_era(x, eras, e, exact), x, eras, e, exact, resid);
                }
            } else {
                detail::cholesky_pass(s, x, eras, e, resid);
                // Iterative refinement, only where the scaled problem is not well conditioned.
                if (s.refine) detail::cholesky_pass(s, x, eras, e, resid);
            }
            break;
        case EraPath::Householder:
        case EraPath::Pivoted: {
            Eigen::MatrixXd w(resid);
            Index rank;
            if (s.path == EraPath::Householder) {
                w.applyOnTheLeft(s.householder.householderQ().adjoint());
                rank = static_cast<Index>(s.kept.size());
                w.topRows(rank).setZero();
                w.applyOnTheLeft(s.householder.householderQ());
            } else {
                w.applyOnTheLeft(s.pivoted.householderQ().adjoint());
                rank = s.pivoted.rank();
                w.topRows(rank).setZero();
                w.applyOnTheLeft(s.pivoted.householderQ());
            }
            resid = w;
            break;
        }
    }
}

// Residuals for one era, written to out[p][row][col] for each proportion p
// (out is P x n_total x m, C order).
//
// Numerical conventions (the reference twin follows them too):
//  * a Y column whose magnitude in the era lies outside [2^-60, 2^60] is scaled by a
//    power of two first (exact) and the result scaled back, so 1e300 or 1e-300
//    predictions neither overflow nor underflow;
//  * a residual column whose norm is at most kNoSpread (1e-10) times the norm of the
//    centred Y column is numerically zero (Y lies in the span of the exposures, e.g.
//    k + 1 >= n): it is returned as exactly 0, not as rounding noise;
//  * with standardize, a column with no spread left (a zero residual at proportion 1,
//    or, with an intercept, Y constant in the era) becomes 0 instead of 0/0.
template <class T>
void solve_era(const EraSolver& s, const StridedMatrix<T>& x, const StridedMatrix<double>& y,
               const EraIndex& eras, Index e, const std::vector<double>& proportions,
               const NeutralizeOptions& opt, double* out, Index n_total,
               detail::EraBytes* bytes = nullptr) {
    const Index n = s.rows, m = y.cols;
    if (n == 0) return;  // an era without rows: nothing to write (minCoeff needs a row)
    RowMatrixXd yd(n, m);
    for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < m; ++j) yd(i, j) = y(eras.row(e, i), j);
    std::vector<int> y_exponent(static_cast<std::size_t>(m), 0);
    std::vector<char> y_constant(static_cast<std::size_t>(m), 0);
    for (Index j = 0; j < m; ++j) {
        auto col = yd.col(j);
        const double lo = col.minCoeff(), hi = col.maxCoeff();
        y_constant[static_cast<std::size_t>(j)] = lo == hi;
        const double magnitude = std::max(std::abs(lo), std::abs(hi));
        if (magnitude > 0.0 && !(magnitude >= 0x1p-60 && magnitude <= 0x1p60)) {
            const int ex = -std::ilogb(magnitude);
            y_exponent[static_cast<std::size_t>(j)] = ex;
            for (Index i = 0; i < n; ++i) col[i] = std::ldexp(col[i], ex);
        }
    }

    // resid = the part of Y orthogonal to [X, 1]. A Y column constant in the era is
    // made exactly zero (its centred values would otherwise carry rounding noise).
    RowMatrixXd resid = yd;
    if (opt.intercept) {
        for (Index j = 0; j < m; ++j) {
            if (y_constant[static_cast<std::size_t>(j)]) {
                resid.col(j).setZero();
            } else {
                resid.col(j).array() -= yd.col(j).mean();
            }
        }
    }
    const Eigen::RowVectorXd y_norm = resid.colwise().norm();
    residualize(s, x, eras, e, opt, resid, bytes);
    std::vector<char> zero(static_cast<std::size_t>(m), 0);
    for (Index j = 0; j < m; ++j) {
        if (resid.col(j).norm() <= detail::kNoSpread * y_norm[j]) {
            resid.col(j).setZero();
            zero[static_cast<std::size_t>(j)] = 1;
        }
    }

    for (std::size_t p = 0; p < proportions.size(); ++p) {
        const double prop = proportions[p];
        RowMatrixXd res = (prop == 1.0) ? resid : RowMatrixXd((1.0 - prop) * yd + prop * resid);
        for (Index j = 0; j < m; ++j) {
            auto col = res.col(j);
            const auto sj = static_cast<std::size_t>(j);
            if (opt.standardize) {
                const bool flat = opt.intercept && y_constant[sj];  // in the intercept's span
                const bool no_spread = flat || (zero[sj] && prop == 1.0);
                const double sd = no_spread ? 0.0 : detail::sample_std(col);
                if (sd > 0.0)
                    col /= sd;
                else
                    col.setZero();
            } else if (y_exponent[sj] != 0) {
                for (Index i = 0; i < n; ++i) col[i] = std::ldexp(col[i], -y_exponent[sj]);
            }
        }
        double* base = out + static_cast<Index>(p) * n_total * m;
        for (Index i = 0; i < n; ++i) {
            const Index r = eras.row(e, i);
            for (Index j = 0; j < m; ++j) base[r * m + j] = res(i, j);
        }
    }
}

// One-shot neutralization of every era (factorize and solve, nothing kept).
template <class T>
std::vector<EraPath> neutralize(const StridedMatrix<T>& x, const StridedMatrix<double>& y,
                                const EraIndex& eras, const std::vector<double>& proportions,
                                const NeutralizeOptions& opt, double* out) {
    std::vector<EraPath> paths(static_cast<std::size_t>(eras.n_eras));
    const detail::WorkspaceRelease release;
    parallel_for(eras.n_eras, opt.n_threads, [&](Index e) {
        detail::EraBytes& bytes = detail::workspace().bytes;
        bytes.rhs_cols = y.cols;
        EraSolver s = factorize_era(x, eras, e, opt, &bytes);
        solve_era(s, x, y, eras, e, proportions, opt, out, y.rows, &bytes);
        paths[static_cast<std::size_t>(e)] = s.path;
        // the factor's storage back to the workspace, for the next era's Gram matrix
        detail::Workspace& w = detail::workspace();
        if (s.factor.size() > 0) w.gram = std::move(s.factor);
        if (s.factor32.size() > 0) w.gram32 = std::move(s.factor32);
        bytes.valid = false;
    });
    return paths;
}

// Factorizations of every era, kept for reuse by transform().
template <class T>
std::vector<EraSolver> factorize(const StridedMatrix<T>& x, const EraIndex& eras,
                                 const NeutralizeOptions& opt) {
    std::vector<EraSolver> solvers(static_cast<std::size_t>(eras.n_eras));
    const detail::WorkspaceRelease release;
    parallel_for(eras.n_eras, opt.n_threads, [&](Index e) {
        detail::EraBytes& bytes = detail::workspace().bytes;
        bytes.rhs_cols = 0;  // unknown: the float64 factor
        EraSolver s = factorize_era(x, eras, e, opt, &bytes);
        if (bytes.valid && s.path == EraPath::Cholesky) {
            s.byte_shift = bytes.shift;
            s.byte_mu = bytes.mu;
            s.byte_grid = bytes.grid;
        }
        bytes.valid = false;
        solvers[static_cast<std::size_t>(e)] = std::move(s);
    });
    return solvers;
}

// Residuals from kept factorizations. The Cholesky path needs the era's exposures again
// (re-read one era at a time, never stored as float64; on the byte route as the era's
// byte columns, for the fast passes).
template <class T>
void transform(const std::vector<EraSolver>& solvers, const StridedMatrix<T>& x,
               const StridedMatrix<double>& y, const EraIndex& eras,
               const std::vector<double>& proportions, const NeutralizeOptions& opt, double* out) {
    const detail::WorkspaceRelease release;
    parallel_for(eras.n_eras, opt.n_threads, [&](Index e) {
        const EraSolver& s = solvers[static_cast<std::size_t>(e)];
        detail::EraBytes* bytes = nullptr;
        if (detail::byte_pass_available() && s.path == EraPath::Cholesky && s.byte_grid > 0.0) {
            // the byte columns again (exact: the same integers as at the fit)
            bytes = &detail::workspace().bytes;
            bytes->reshape(s.rows, static_cast<Index>(s.kept.size()));
            detail::byte_columns(x, eras, e, s.kept, s.byte_shift, s.byte_grid, bytes->cols);
            bytes->mu = s.byte_mu;
            bytes->shift = s.byte_shift;
            bytes->grid = s.byte_grid;
            bytes->valid = true;
        }
        solve_era(s, x, y, eras, e, proportions, opt, out, y.rows, bytes);
        if (bytes) bytes->valid = false;
    });
}

}  // namespace neutralkit
