// Per-era Pearson correlation of every prediction column with every feature.
//
// For one era and one block of feature columns: gather the block into float64 (features
// may be int8; only one era block of at most kBlockCols columns is ever converted, never
// the whole matrix), take column sums on the way, then one matrix product of the centred
// predictions with the block, and normalize by the two centred norms.
//
// Integer features of at most 16 bits get exact statistics: their sums and sums of
// squares are accumulated in int64, so "constant in this era" is an exact test and the
// centred sum of squares n*Sxx - Sx^2 is formed in 128-bit integers before one rounding.
// Float features are centred explicitly (one extra pass) for accuracy.
// A feature or prediction column that is constant within an era has no correlation:
// NaN. Tasks are (era, column block) pairs; each writes only its own outputs, so the
// result does not depend on the thread count.
#pragma once

#include <neutralkit/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace neutralkit {

namespace exposure_detail {

constexpr Index kBlockCols = 128;
constexpr Index kFusedMaxCols = 4;

// Wide enough for n * sum(x^2) of 16-bit integers over any realistic era.
#if defined(__SIZEOF_INT128__)
using Wide = __int128;
#else
using Wide = long double;  // exact to 64 bits of mantissa on x87; otherwise rounded
#endif

template <class T>
constexpr bool exact_integer_v = std::is_integral<T>::value && sizeof(T) <= 2;

// Centred prediction columns of one era (n_e x m), their norms, and a constant flag.
struct CentredPreds {
    Eigen::MatrixXd centred;  // column-major: column p is contiguous
    std::vector<double> norm;
    std::vector<char> constant;
    std::vector<double> sum;  // sum of the centred column (≈ 0; used as a correction)
};

inline CentredPreds centre_preds(const StridedMatrix<double>& p, const EraIndex& eras, Index e) {
    const Index n = eras.size(e), m = p.cols;
    CentredPreds c;
    c.centred.resize(n, m);
    c.norm.assign(static_cast<std::size_t>(m), 0.0);
    c.constant.assign(static_cast<std::size_t>(m), 1);
    c.sum.assign(static_cast<std::size_t>(m), 0.0);
    for (Index j = 0; j < m; ++j) {
        const double first = n > 0 ? p(eras.row(e, 0), j) : 0.0;
        double s = 0.0;
        bool constant = true;
        for (Index i = 0; i < n; ++i) {
            const double v = p(eras.row(e, i), j);
            c.centred(i, j) = v;
            s += v;
            constant = constant && (v == first);
        }
        const double mean = n > 0 ? s / static_cast<double>(n) : 0.0;
        auto col = c.centred.col(j);
        col.array() -= mean;
        // As for the features: an exact power-of-two scaling keeps the squares of a
        // column that is tiny or huge in this era (not in the whole column) finite.
        const double big = n > 0 ? col.cwiseAbs().maxCoeff() : 0.0;
        if (big > 0.0 && std::isfinite(big) && (big < 0x1p-500 || big > 0x1p500)) {
            const int ex = -std::ilogb(big);
            col = col.unaryExpr([ex](double v) { return std::ldexp(v, ex); });
        }
        c.norm[static_cast<std::size_t>(j)] = col.norm();
        c.sum[static_cast<std::size_t>(j)] = col.sum();
        c.constant[static_cast<std::size_t>(j)] = constant ? 1 : 0;
    }
    return c;
}

}  // namespace exposure_detail

// out has n_eras * m * k entries: out[(e * m + p) * k + j] = Pearson(preds[:, p],
// x[:, j]) over the rows of era e (NaN when either is constant there or the era has
// fewer than 2 rows).
template <class T>
void feature_correlations(const StridedMatrix<double>& preds, const StridedMatrix<T>& x,
                          const EraIndex& eras, int n_threads, double* out) {
    using namespace exposure_detail;
    const Index m = preds.cols, k = x.cols;
    const Index n_blocks = (k + kBlockCols - 1) / kBlockCols;
    const double nan = std::numeric_limits<double>::quiet_NaN();

    parallel_for(eras.n_eras * n_blocks, n_threads, [&](Index task) {
        const Index e = task / n_blocks;
        const Index c0 = (task % n_blocks) * kBlockCols;
        const Index kc = std::min(kBlockCols, k - c0);
        const Index n = eras.size(e);
        double* out_era = out + e * m * k;
        if (n < 2) {
            for (Index p = 0; p < m; ++p)
                for (Index j = 0; j < kc; ++j) out_era[p * k + c0 + j] = nan;
            return;
        }
        const CentredPreds cp = centre_preds(preds, eras, e);

        const bool use_fused = exact_integer_v<T> && m <= kFusedMaxCols;
        RowMatrixXd block(use_fused ? 0 : n, kc);
        std::vector<double> row_buf(static_cast<std::size_t>(kc));
        RowMatrixXd cross_fused;
        std::vector<double> mean(static_cast<std::size_t>(kc)), ss(static_cast<std::size_t>(kc));
        std::vector<char> constant(static_cast<std::size_t>(kc), 1);

        if constexpr (exact_integer_v<T>) {
            // int8 squares fit int32 for 2^16 rows; flush to int64 before that.
            using Acc = std::conditional_t<sizeof(T) == 1, std::int32_t, std::int64_t>;
            constexpr Index kFlushRows = 1 << 16;
            std::vector<std::int64_t> isum(static_cast<std::size_t>(kc), 0);
            std::vector<std::int64_t> isq(static_cast<std::size_t>(kc), 0);
            std::vector<Acc> asum(static_cast<std::size_t>(kc), 0),
                asq(static_cast<std::size_t>(kc), 0);
            // Few prediction columns: stream the rows once, accumulating the cross
            // products directly instead of materializing the block for a GEMM.
            const bool fused = m <= kFusedMaxCols;
            if (fused) cross_fused.setZero(m, kc);
            for (Index i = 0; i < n; ++i) {
                const T* src = x.data + eras.row(e, i) * x.row_stride + c0 * x.col_stride;
                double* dst = fused ? row_buf.data() : block.data() + i * kc;
                Acc* as = asum.data();
                Acc* aq = asq.data();
                if (x.col_stride == 1) {
                    for (Index j = 0; j < kc; ++j) {
                        const Acc v = src[j];
                        dst[j] = static_cast<double>(v);
                        as[j] += v;
                        aq[j] += v * v;
                    }
                } else {
                    for (Index j = 0; j < kc; ++j) {
                        const Acc v = src[j * x.col_stride];
                        dst[j] = static_cast<double>(v);
                        as[j] += v;
                        aq[j] += v * v;
                    }
                }
                if (fused) {
                    for (Index p = 0; p < m; ++p) {
                        const double w = cp.centred(i, p);
                        double* acc = cross_fused.data() + p * kc;
                        for (Index j = 0; j < kc; ++j) acc[j] += w * dst[j];
                    }
                }
                if ((i + 1) % kFlushRows == 0 || i + 1 == n) {
                    for (Index j = 0; j < kc; ++j) {
                        const auto sj = static_cast<std::size_t>(j);
                        isum[sj] += asum[sj];
                        isq[sj] += asq[sj];
                        asum[sj] = 0;
                        asq[sj] = 0;
                    }
                }
            }
            for (Index j = 0; j < kc; ++j) {
                const auto sj = static_cast<std::size_t>(j);
                // n * Sxx - Sx^2 = n * (centred sum of squares), exact in 128 bits.
                const Wide num =
                    static_cast<Wide>(n) * isq[sj] - static_cast<Wide>(isum[sj]) * isum[sj];
                constant[sj] = num == 0 ? 1 : 0;
                mean[sj] = static_cast<double>(isum[sj]) / static_cast<double>(n);
                ss[sj] = static_cast<double>(num) / static_cast<double>(n);
            }
        } else {
            std::vector<double> sum(static_cast<std::size_t>(kc), 0.0);
            // spread[j] = max |x - x_first|: zero exactly when the column is constant
            // (finite inputs: x - y == 0 only if x == y). Branch-free, so it vectorizes.
            std::vector<double> first(static_cast<std::size_t>(kc)),
                spread(static_cast<std::size_t>(kc), 0.0);
            const T* src0 = x.data + eras.row(e, 0) * x.row_stride + c0 * x.col_stride;
            // 64-bit integers are read as their difference from the era's first value,
            // taken in integer arithmetic (exact where float64 would round values past
            // 2^53, e.g. nanosecond timestamps); a correlation ignores the shift.
            auto as_double = [&](T v, Index j) {
                if constexpr (std::is_integral<T>::value && sizeof(T) == 8) {
                    const auto base = static_cast<std::uint64_t>(src0[j * x.col_stride]);
                    return static_cast<double>(
                        static_cast<std::int64_t>(static_cast<std::uint64_t>(v) - base));
                } else {
                    (void)j;
                    return static_cast<double>(v);
                }
            };
            for (Index j = 0; j < kc; ++j)
                first[static_cast<std::size_t>(j)] = as_double(src0[j * x.col_stride], j);
            double* sp = sum.data();
            double* fp = first.data();
            double* dp = spread.data();
            for (Index i = 0; i < n; ++i) {
                const T* src = x.data + eras.row(e, i) * x.row_stride + c0 * x.col_stride;
                double* dst = block.data() + i * kc;
                if (x.col_stride == 1) {
                    for (Index j = 0; j < kc; ++j) {
                        const double v = as_double(src[j], j);
                        dst[j] = v;
                        sp[j] += v;
                        dp[j] = std::max(dp[j], std::abs(v - fp[j]));
                    }
                } else {
                    for (Index j = 0; j < kc; ++j) {
                        const double v = as_double(src[j * x.col_stride], j);
                        dst[j] = v;
                        sp[j] += v;
                        dp[j] = std::max(dp[j], std::abs(v - fp[j]));
                    }
                }
            }
            for (Index j = 0; j < kc; ++j)
                constant[static_cast<std::size_t>(j)] =
                    spread[static_cast<std::size_t>(j)] == 0.0 ? 1 : 0;
            // Raw values beyond [2^-500, 2^500] (denormals, 1e300) are first scaled by an
            // exact power of two, so that their mean neither rounds at the denormal grain
            // nor overflows (max(|first|, spread) is within a factor 2 of max |x|).
            for (Index j = 0; j < kc; ++j) {
                const auto sj = static_cast<std::size_t>(j);
                const double est = std::max(std::abs(first[sj]), spread[sj]);
                if (est > 0.0 && std::isfinite(est) && (est < 0x1p-500 || est > 0x1p500)) {
                    const int ex = -std::ilogb(est);
                    block.col(j) =
                        block.col(j).unaryExpr([ex](double v) { return std::ldexp(v, ex); });
                    sum[sj] = block.col(j).sum();
                }
            }
            for (Index j = 0; j < kc; ++j)
                mean[static_cast<std::size_t>(j)] =
                    sum[static_cast<std::size_t>(j)] / static_cast<double>(n);
            const Eigen::Map<const Eigen::RowVectorXd> mean_row(mean.data(), kc);
            block.rowwise() -= mean_row;
            // Second pass: the mean of the centred values corrects a rounded first mean
            // (int64 values past 2^53, e.g. nanosecond timestamps, whose sums round).
            block.rowwise() -= block.colwise().mean();
            // A centred column beyond [2^-500, 2^500] is scaled by an exact power of two to
            // max |x| in [1, 2): the correlation does not change, and the squares neither
            // overflow (1e300) nor underflow (1e-300, denormals). Found by fuzz_api.
            const Eigen::RowVectorXd largest = block.cwiseAbs().colwise().maxCoeff();
            for (Index j = 0; j < kc; ++j) {
                const double big = largest(j);
                if (big > 0.0 && std::isfinite(big) && (big < 0x1p-500 || big > 0x1p500)) {
                    const int ex = -std::ilogb(big);  // up to 1074: ldexp each value
                    block.col(j) =
                        block.col(j).unaryExpr([ex](double v) { return std::ldexp(v, ex); });
                }
            }
            const Eigen::RowVectorXd sq = block.colwise().squaredNorm();
            for (Index j = 0; j < kc; ++j) ss[static_cast<std::size_t>(j)] = sq(j);
        }

        // Integer blocks are not centred: sum(centred preds) * mean corrects for that
        // (the correction is ~1e-16 relative; it keeps both paths the same formula).
        Eigen::MatrixXd cross;
        if (use_fused)
            cross = cross_fused;
        else
            cross = cp.centred.transpose() * block;  // m x kc
        for (Index p = 0; p < m; ++p) {
            const auto sp = static_cast<std::size_t>(p);
            for (Index j = 0; j < kc; ++j) {
                const auto sj = static_cast<std::size_t>(j);
                double value = nan;
                if (!cp.constant[sp] && !constant[sj]) {
                    double c = cross(p, j);
                    if constexpr (exact_integer_v<T>) c -= cp.sum[sp] * mean[sj];
                    value = c / (cp.norm[sp] * std::sqrt(ss[sj]));
                }
                out_era[p * k + c0 + j] = value;
            }
        }
    });
}

}  // namespace neutralkit
