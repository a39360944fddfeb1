// Per-era neutralization: residuals of Y on [X, 1] (or X), era by era.
//
// Three ways to get the least-squares residual, all of them QR-based:
//  * Cholesky: the Gram matrix of the centred, unit-scaled era block, its Cholesky
//    factor (which is the R factor of that block's QR, "CholeskyQR"), and one step of
//    iterative refinement where the era is not well conditioned. For small-integer
//    features (int8 0..4, or such values stored as floats) the Gram matrix is formed
//    exactly, with byte arithmetic (byte_gram.hpp) or a float32 product. Fastest; the
//    default. The era's rows are streamed in cache-sized chunks: no n x k float64 copy.
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
#include <type_traits>
#include <vector>

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
    Eigen::VectorXd mean;   // column means of the kept columns (zeros without intercept)
    Eigen::VectorXd scale;  // 1 / norm of each centred kept column
    Eigen::LLT<Eigen::MatrixXd> llt;
    Eigen::HouseholderQR<Eigen::MatrixXd> householder;
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> pivoted;
};

namespace detail {

template <class T>
constexpr bool is_integer_v = std::is_integral<T>::value;

// Column statistics of one era block, for choosing kept columns and centring.
template <class T>
struct ColumnStats {
    std::vector<double> sum;
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
        // Integer sums are exact in int64, so means and the centred Gram matrix are too.
        std::vector<std::int64_t> isum(static_cast<std::size_t>(k), 0);
        std::int64_t* sum = isum.data();
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
        for (Index j = 0; j < k; ++j) {
            s.sum[j] = static_cast<double>(isum[j]);
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

// dst = rows [i0, i0 + rows) of era e, kept columns only, minus `mean` (if given).
template <class T, class S>
void load_chunk(const StridedMatrix<T>& x, const EraIndex& eras, Index e, Index i0, Index rows,
                const std::vector<Index>& kept, const Eigen::VectorXd* mean,
                Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& dst) {
    const Index kk = static_cast<Index>(kept.size());
    dst.resize(rows, kk);
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
    load_chunk(x, eras, e, 0, eras.size(e), solver.kept, &solver.mean, xd);
}

// The era's kept columns, shifted by `shift`, as feature-major bytes. Rows are taken in
// blocks so that the reads of each block stay in L1 while it is transposed.
template <class T>
ByteColumns byte_columns(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                         const std::vector<Index>& kept, const std::vector<double>& shift,
                         double grid) {
    const Index n = eras.size(e), kk = static_cast<Index>(kept.size());
    ByteColumns b(n, kk);
    // Convert a block of rows to a small row-major byte tile (contiguous reads of the
    // input), then transpose the tile (cheap: bytes, in L1).
    constexpr Index kBlock = 64;
    std::vector<std::uint8_t> tile(static_cast<std::size_t>(kBlock * kk));
    std::vector<std::int64_t> lo(static_cast<std::size_t>(kk));
    for (Index c = 0; c < kk; ++c) lo[c] = static_cast<std::int64_t>(shift[c]);
    for (Index i0 = 0; i0 < n; i0 += kBlock) {
        const Index rows = std::min(kBlock, n - i0);
        for (Index i = 0; i < rows; ++i) {
            const Index r = eras.row(e, i0 + i);
            std::uint8_t* dst = tile.data() + i * kk;
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
    return b;
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
template <class T>
Eigen::MatrixXd centred_gram(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                             const EraSolver& solver, const ColumnStats<T>& stats, bool intercept) {
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
            Eigen::MatrixXd g;
            if (bytes) {
                g = byte_gram(byte_columns(x, eras, e, solver.kept, shift, grid),
                              static_cast<int>(max_value));
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
            if (intercept) {
                for (Index b = 0; b < kk; ++b)
                    for (Index a = 0; a < kk; ++a) g(a, b) = (nn * g(a, b) - sum[a] * sum[b]) / nn;
            }
            if (grid != 1.0) g /= grid * grid;  // a power of two: exact
            return g;
        }
    }
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(kk, kk);
    RowMatrixXd chunk;
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
        load_chunk(x, eras, e, i0, std::min(kChunkRows, n - i0), solver.kept, &solver.mean, chunk);
        g.selfadjointView<Eigen::Lower>().rankUpdate(chunk.transpose());
    }
    return g.selfadjointView<Eigen::Lower>().toDenseMatrix();
}

// Gram matrix of the centred kept columns from a float32 product: a preconditioner
// only (iterative refinement in float64 makes the residual exact).
template <class T>
Eigen::MatrixXd float_centred_gram(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                                   const EraSolver& solver) {
    const Index n = eras.size(e), kk = static_cast<Index>(solver.kept.size());
    Eigen::MatrixXf gf = Eigen::MatrixXf::Zero(kk, kk);
    RowMatrixXf chunk;
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
        load_chunk(x, eras, e, i0, std::min(kChunkRows, n - i0), solver.kept, &solver.mean, chunk);
        gf.selfadjointView<Eigen::Lower>().rankUpdate(chunk.transpose());
    }
    return gf.selfadjointView<Eigen::Lower>().toDenseMatrix().cast<double>();
}

// Relative size below which a residual's standard deviation counts as zero.
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

// resid -= Xc S solve(S Xc^T resid), streaming the era's rows in chunks.
template <class T>
void cholesky_pass(const EraSolver& s, const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                   RowMatrixXd& resid) {
    const Index n = s.rows, kk = static_cast<Index>(s.kept.size());
    Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(kk, resid.cols());
    RowMatrixXd chunk;
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
        const Index rows = std::min(kChunkRows, n - i0);
        load_chunk(x, eras, e, i0, rows, s.kept, &s.mean, chunk);
        rhs.noalias() += chunk.transpose() * resid.middleRows(i0, rows);
    }
    rhs = s.scale.asDiagonal() * rhs;
    s.llt.solveInPlace(rhs);
    rhs = s.scale.asDiagonal() * rhs;
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
        const Index rows = std::min(kChunkRows, n - i0);
        load_chunk(x, eras, e, i0, rows, s.kept, &s.mean, chunk);
        resid.middleRows(i0, rows).noalias() -= chunk * rhs;
    }
}

}  // namespace detail

// Factorizes one era.
template <class T>
EraSolver factorize_era(const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                        const NeutralizeOptions& opt) {
    EraSolver s;
    const Index n = eras.size(e);
    s.rows = n;
    const auto stats = detail::column_stats(x, eras, e);
    for (Index j = 0; j < x.cols; ++j) {
        const bool constant = !(stats.lo[j] < stats.hi[j]);
        const bool zero = constant && stats.lo[j] == T(0);
        if (opt.intercept ? !constant : !zero) s.kept.push_back(j);
    }
    const Index kk = static_cast<Index>(s.kept.size());
    s.mean = Eigen::VectorXd::Zero(kk);
    if (opt.intercept)
        for (Index c = 0; c < kk; ++c) s.mean[c] = stats.sum[s.kept[c]] / static_cast<double>(n);
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
            Eigen::MatrixXd g = approximate
                                    ? detail::float_centred_gram(x, eras, e, s)
                                    : detail::centred_gram(x, eras, e, s, stats, opt.intercept);
            s.scale = g.diagonal().cwiseSqrt().cwiseInverse();
            if (!s.scale.allFinite()) continue;
            g = s.scale.asDiagonal() * g * s.scale.asDiagonal();
            s.llt.compute(g);
            if (s.llt.info() != Eigen::Success) continue;
            const double pivot = detail::min_squared_diagonal(s.llt.matrixLLT());
            if (pivot >= (approximate ? opt.approx_min_pivot : opt.min_pivot)) {
                s.path = EraPath::Cholesky;
                s.approximate = approximate;
                s.refine = pivot < opt.refine_below;
                return s;
            }
        }
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
template <class T>
void residualize(const EraSolver& s, const StridedMatrix<T>& x, const EraIndex& eras, Index e,
                 const NeutralizeOptions& opt, RowMatrixXd& resid) {
    switch (s.path) {
        case EraPath::NoExposure:
            break;
        case EraPath::Cholesky:
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
template <class T>
void solve_era(const EraSolver& s, const StridedMatrix<T>& x, const StridedMatrix<double>& y,
               const EraIndex& eras, Index e, const std::vector<double>& proportions,
               const NeutralizeOptions& opt, double* out, Index n_total) {
    const Index n = s.rows, m = y.cols;
    RowMatrixXd yd(n, m);
    for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < m; ++j) yd(i, j) = y(eras.row(e, i), j);

    // resid = the part of Y orthogonal to [X, 1]. A Y column constant in the era is
    // made exactly zero (its centred values would otherwise carry rounding noise).
    RowMatrixXd resid = yd;
    if (opt.intercept) {
        for (Index j = 0; j < m; ++j) {
            const auto col = yd.col(j);
            if (col.minCoeff() == col.maxCoeff()) {
                resid.col(j).setZero();
            } else {
                resid.col(j).array() -= col.mean();
            }
        }
    }
    residualize(s, x, eras, e, opt, resid);

    for (std::size_t p = 0; p < proportions.size(); ++p) {
        const double prop = proportions[p];
        RowMatrixXd res = (prop == 1.0) ? resid : RowMatrixXd((1.0 - prop) * yd + prop * resid);
        if (opt.standardize) {
            for (Index j = 0; j < m; ++j) {
                auto col = res.col(j);
                const double sd = detail::sample_std(col);
                // No spread left in the era (constant predictions, or a residual that is
                // zero up to rounding, e.g. k + 1 >= n): 0, not amplified rounding noise.
                if (sd > detail::kNoSpread * detail::sample_std(yd.col(j)))
                    col /= sd;
                else
                    col.setZero();
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
    parallel_for(eras.n_eras, opt.n_threads, [&](Index e) {
        const EraSolver s = factorize_era(x, eras, e, opt);
        solve_era(s, x, y, eras, e, proportions, opt, out, y.rows);
        paths[static_cast<std::size_t>(e)] = s.path;
    });
    return paths;
}

// Factorizations of every era, kept for reuse by transform().
template <class T>
std::vector<EraSolver> factorize(const StridedMatrix<T>& x, const EraIndex& eras,
                                 const NeutralizeOptions& opt) {
    std::vector<EraSolver> solvers(static_cast<std::size_t>(eras.n_eras));
    parallel_for(eras.n_eras, opt.n_threads, [&](Index e) {
        solvers[static_cast<std::size_t>(e)] = factorize_era(x, eras, e, opt);
    });
    return solvers;
}

// Residuals from kept factorizations. The Cholesky path needs the era's exposures again
// (re-read one era at a time, never stored as float64).
template <class T>
void transform(const std::vector<EraSolver>& solvers, const StridedMatrix<T>& x,
               const StridedMatrix<double>& y, const EraIndex& eras,
               const std::vector<double>& proportions, const NeutralizeOptions& opt, double* out) {
    parallel_for(eras.n_eras, opt.n_threads, [&](Index e) {
        solve_era(solvers[static_cast<std::size_t>(e)], x, y, eras, e, proportions, opt, out,
                  y.rows);
    });
}

}  // namespace neutralkit
