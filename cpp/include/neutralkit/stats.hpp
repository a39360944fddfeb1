// Per-era statistics of many prediction columns against one target: Pearson correlation,
// covariance, rank-transformed correlation (corr, numerai_corr) and the contribution of
// predictions orthogonal to a metamodel. Tasks are (era, column) pairs; each writes one
// output cell, so results do not depend on the thread count.
#pragma once

#include <neutralkit/rank.hpp>
#include <neutralkit/types.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace neutralkit {

namespace detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Multiplication by 2^e as two exact factors (2^e alone may not be a double).
struct PowerOfTwo {
    double first = 1.0, second = 1.0;
    explicit PowerOfTwo(int e) {
        const int a = std::max(-1000, std::min(1000, e));
        first = std::ldexp(1.0, a);
        second = std::ldexp(1.0, e - a);
    }
    double operator()(double v) const { return v * first * second; }
};

// Centred sums of x[0..n) and y[0..n) (two-pass); with Scaled, each side is first
// multiplied by a power of two (2^ex, 2^ey: exact).
struct Moments {
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    bool x_const = true, y_const = true;
};

template <bool Scaled>
Moments centred_moments(const double* x, const double* y, Index n, int ex = 0, int ey = 0) {
    const PowerOfTwo fx(ex), fy(ey);
    auto X = [&](Index i) { return Scaled ? fx(x[i]) : x[i]; };
    auto Y = [&](Index i) { return Scaled ? fy(y[i]) : y[i]; };
    Moments m;
    double sx = 0.0, sy = 0.0;
    for (Index i = 0; i < n; ++i) {
        sx += X(i);
        sy += Y(i);
        m.x_const = m.x_const && x[i] == x[0];
        m.y_const = m.y_const && y[i] == y[0];
    }
    const double mx = sx / static_cast<double>(n);
    const double my = sy / static_cast<double>(n);
    for (Index i = 0; i < n; ++i) {
        const double dx = m.x_const ? 0.0 : X(i) - mx;
        const double dy = m.y_const ? 0.0 : Y(i) - my;
        m.sxy += dx * dy;
        m.sxx += dx * dx;
        m.syy += dy * dy;
    }
    return m;
}

// Exponent e such that 2^e * (largest |v|) lies in [1, 2) (0 for all zeros).
inline int unit_exponent(const double* v, Index n) {
    double big = 0.0;
    for (Index i = 0; i < n; ++i) big = std::max(big, std::abs(v[i]));
    return big > 0.0 && std::isfinite(big) ? -std::ilogb(big) : 0;
}

// Pearson correlation (or covariance with ddof=1) of x[0..n) and y[0..n), two-pass.
// NaN with fewer than 2 values, and for a correlation when either side is constant.
// Overflow-safe: when the plain sums overflow or fall into the subnormal range (values
// near 1e200 or 1e-200), both sides are scaled by powers of two to a largest |value|
// of 1 and the sums taken again (the correlation does not change; a covariance is
// scaled back). A NaN is never clamped into [-1, 1].
inline double pearson(const double* x, const double* y, Index n, bool covariance) {
    if (n < 2) return kNaN;
    int ex = 0, ey = 0;
    Moments m = centred_moments<false>(x, y, n);
    constexpr double kTiny = 0x1p-900;
    const bool unsafe = !std::isfinite(m.sxy) || !std::isfinite(m.sxx) || !std::isfinite(m.syy) ||
                        (!m.x_const && m.sxx < kTiny) || (!m.y_const && m.syy < kTiny);
    if (unsafe) {
        ex = unit_exponent(x, n);
        ey = unit_exponent(y, n);
        m = centred_moments<true>(x, y, n, ex, ey);
    }
    if (covariance) return std::ldexp(m.sxy / static_cast<double>(n - 1), -ex - ey);
    if (m.x_const || m.y_const || m.sxx == 0.0 || m.syy == 0.0) return kNaN;
    const double r = m.sxy / (std::sqrt(m.sxx) * std::sqrt(m.syy));
    if (std::isnan(r)) return r;
    return std::max(-1.0, std::min(1.0, r));
}

// Copies the selected positions of `sorted` values into `out`: the first and last
// `top_bottom` entries (all of them when top_bottom is 0 or covers every entry).
inline Index select_top_bottom(const std::vector<double>& sorted, Index top_bottom,
                               std::vector<double>& out) {
    const Index n = static_cast<Index>(sorted.size());
    out.clear();
    if (top_bottom <= 0 || 2 * top_bottom >= n) {
        out.assign(sorted.begin(), sorted.end());
    } else {
        out.insert(out.end(), sorted.begin(), sorted.begin() + top_bottom);
        out.insert(out.end(), sorted.end() - top_bottom, sorted.end());
    }
    return static_cast<Index>(out.size());
}

// Element types whose values all convert to double exactly (sort_column sorts 64-bit
// integers beyond 2^53 as integers instead).
template <class T>
constexpr bool kNarrowRankable = !(std::is_integral<T>::value && sizeof(T) == 8);

// Min, max and finiteness of get(0) .. get(n - 1), in independent lanes (vectorized when
// get reads contiguous memory); with Copy, the values are also stored in raw[0..n).
struct ColumnRange {
    double lo = 0.0, hi = 0.0;
    bool finite = true;
};

template <bool Copy, class Get>
ColumnRange column_range(Index n, Get&& get, double* raw) {
    constexpr Index kLanes = 8;
    constexpr double kInf = std::numeric_limits<double>::infinity();
    double lo[kLanes], hi[kLanes], fin[kLanes];  // fin: sums of x - x, 0 or NaN for NaN/inf
    for (Index l = 0; l < kLanes; ++l) {
        lo[l] = kInf;
        hi[l] = -kInf;
        fin[l] = 0.0;
    }
    Index i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (Index l = 0; l < kLanes; ++l) {
            const double x = get(i + l);
            if (Copy) raw[i + l] = x;
            fin[l] += x - x;
            lo[l] = std::min(lo[l], x);
            hi[l] = std::max(hi[l], x);
        }
    }
    for (; i < n; ++i) {
        const double x = get(i);
        if (Copy) raw[i] = x;
        fin[0] += x - x;
        lo[0] = std::min(lo[0], x);
        hi[0] = std::max(hi[0], x);
    }
    ColumnRange r;
    double finite = 0.0;
    r.lo = kInf;
    r.hi = -kInf;
    for (Index l = 0; l < kLanes; ++l) {
        finite += fin[l];
        r.lo = std::min(r.lo, lo[l]);
        r.hi = std::max(r.hi, hi[l]);
    }
    r.finite = finite == 0.0;
    return r;
}

// Ranks one era column of n values by NarrowRank, gathering them into raw[0..n) (min,
// max and finiteness taken on the way), and calls emit(i, average-rank code of value i).
// Returns false when a value is NaN or infinite or NarrowRank declines (having perhaps
// emitted some codes): the caller then falls back to ColumnSort.
template <class Get, class Emit>
bool narrow_rank(Index n, Get&& get, SortScratch& s, double* raw, Emit&& emit) {
    const ColumnRange r = column_range<true>(n, std::forward<Get>(get), raw);
    return r.finite && s.narrow.rank_with(raw, n, r.lo, r.hi, emit);
}

// column_range of contiguous float64 values, read in place. GCC does not vectorize the
// min/max reductions above (their NaN and signed-zero rules), so with AVX it is written
// with intrinsics: a column is read at the memory's rate.
inline ColumnRange contiguous_range(const double* x, Index n) {
#if defined(__AVX2__)  // (AVX2 forms: GCC 12's AVX-512 min/max warn -Wmaybe-uninitialized)
    constexpr double kInf = std::numeric_limits<double>::infinity();
    __m256d lo = _mm256_set1_pd(kInf), hi = _mm256_set1_pd(-kInf), fin = _mm256_setzero_pd();
    Index i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d v = _mm256_loadu_pd(x + i);
        fin = _mm256_add_pd(fin, _mm256_sub_pd(v, v));
        lo = _mm256_min_pd(lo, v);
        hi = _mm256_max_pd(hi, v);
    }
    alignas(32) double l4[4], h4[4], f4[4];
    _mm256_store_pd(l4, lo);
    _mm256_store_pd(h4, hi);
    _mm256_store_pd(f4, fin);
    ColumnRange r;
    r.lo = std::min(std::min(l4[0], l4[1]), std::min(l4[2], l4[3]));
    r.hi = std::max(std::max(h4[0], h4[1]), std::max(h4[2], h4[3]));
    double f = (f4[0] + f4[1]) + (f4[2] + f4[3]);
    for (; i < n; ++i) {
        f += x[i] - x[i];
        r.lo = std::min(r.lo, x[i]);
        r.hi = std::max(r.hi, x[i]);
    }
    r.finite = f == 0.0;
    return r;
#else
    return column_range<false>(n, [x](Index i) { return x[i]; }, nullptr);
#endif
}

// f(0) + ... + f(n - 1) in 16 independent lanes (vectorized, and no single chain of
// dependent additions), combined pairwise.
template <class F>
double lane_sum(Index n, F&& f) {
    constexpr Index kLanes = 16;
    double acc[kLanes] = {};
    Index i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (Index l = 0; l < kLanes; ++l) acc[l] += f(i + l);
    for (; i < n; ++i) acc[0] += f(i);
    for (Index w = kLanes / 2; w > 0; w /= 2)
        for (Index l = 0; l < w; ++l) acc[l] += acc[l + w];
    return acc[0];
}

}  // namespace detail

enum class TargetMode : int { Raw = 0, Center = 1, CenterPower = 2, Contribution = 3 };

// Per-era target preparation, out[row] for every row:
//   Raw: t;  Center: t - mean;  CenterPower: signed_power(t - mean, power);
//   Contribution: 4 t when every t of the era lies in [0, 1] (buckets to -2..2), centred.
// Center and CenterPower feed correlations only, which a positive factor per era does
// not change: an era whose |t| lies outside [2^-60, 2^60] is first scaled by a power of
// two (to a largest |t| in [1, 2)), so that t ~ 1e300 (whose cube root squared would
// overflow) or t ~ 1e-300 (which would underflow) still give the right correlation.
inline void prepare_target(const double* t, const EraIndex& eras, TargetMode mode, double power,
                           double* out) {
    const bool rescale = mode == TargetMode::Center || mode == TargetMode::CenterPower;
    for (Index e = 0; e < eras.n_eras; ++e) {
        const Index n = eras.size(e);
        double scale = 1.0;
        if (mode == TargetMode::Contribution) {
            bool unit = true;
            for (Index i = 0; i < n; ++i) {
                const double v = t[eras.row(e, i)];
                unit = unit && v >= 0.0 && v <= 1.0;
            }
            if (unit) scale = 4.0;
        }
        int exponent = 0;
        if (rescale) {
            double big = 0.0;
            for (Index i = 0; i < n; ++i) big = std::max(big, std::abs(t[eras.row(e, i)]));
            if (big > 0.0 && std::isfinite(big) && !(big >= 0x1p-60 && big <= 0x1p60))
                exponent = -std::ilogb(big);
        }
        const detail::PowerOfTwo factor(exponent);
        auto value = [&](Index i) {
            const double v = scale * t[eras.row(e, i)];
            return exponent == 0 ? v : factor(v);
        };
        double mean = 0.0;
        if (mode != TargetMode::Raw) {
            double s = 0.0;
            for (Index i = 0; i < n; ++i) s += value(i);
            mean = n ? s / static_cast<double>(n) : 0.0;
        }
        for (Index i = 0; i < n; ++i) {
            const auto r = eras.row(e, i);
            const double c = value(i) - mean;
            out[r] = mode == TargetMode::CenterPower ? signed_power(c, power) : c;
        }
    }
}

// out (n_eras x cols, row-major) = Pearson (or covariance, ddof=1) of each column of x
// with y, per era.
template <class T>
void pearson_columns(const StridedMatrix<T>& x, const double* y, const EraIndex& eras,
                     bool covariance, int n_threads, double* out) {
    const Index m = x.cols;
    parallel_for(eras.n_eras * m, n_threads, [&](Index task) {
        const Index e = task / m;
        const Index j = task % m;
        const Index n = eras.size(e);
        auto& s = detail::scratch();
        s.values.resize(static_cast<std::size_t>(n));
        s.other.resize(static_cast<std::size_t>(n));
        for (Index i = 0; i < n; ++i) {
            const auto r = eras.row(e, i);
            s.values[static_cast<std::size_t>(i)] = static_cast<double>(x(r, j));
            s.other[static_cast<std::size_t>(i)] = y[r];
        }
        out[e * m + j] = detail::pearson(s.values.data(), s.other.data(), n, covariance);
    });
}

// out (n_eras x cols) = Pearson(transform(rank(x_j)), y) per era, where y is the
// already prepared target. With top_bottom = t > 0 only the t lowest and t highest
// transformed values (a stable sort: ties go by row order within the era) take part;
// when 2 t >= n every row does.
template <class T>
void rank_correlation_columns(const StridedMatrix<T>& x, const double* y, const EraIndex& eras,
                              const RankTransform& tr, Index top_bottom, int n_threads,
                              double* out) {
    const auto tables = rank_tables(eras, tr, n_threads);
    const Index m = x.cols;
    parallel_for(eras.n_eras * m, n_threads, [&](Index task) {
        const Index e = task / m;
        const Index j = task % m;
        const Index n = eras.size(e);
        auto& s = detail::scratch();
        const auto& table = tables[static_cast<std::size_t>(e)];
        if constexpr (detail::kNarrowRankable<T>) {
            // Every row takes part: the rows' order does not matter, so NarrowRank's codes
            // serve directly (ColumnSort below when it declines).
            if (tr.method == RankMethod::Average && !table.empty() && n >= 2 &&
                (top_bottom <= 0 || 2 * top_bottom >= n)) {
                s.values.resize(static_cast<std::size_t>(n));
                s.other.resize(static_cast<std::size_t>(n));
                double* xs = s.values.data();
                s.codes.resize(static_cast<std::size_t>(n));
                std::uint32_t* codes = s.codes.data();
                if (detail::narrow_rank(
                        n, [&](Index i) { return static_cast<double>(x(eras.row(e, i), j)); }, s,
                        xs, [codes](std::uint32_t i, std::uint32_t code) { codes[i] = code; })) {
                    double* ys = s.other.data();
                    for (Index i = 0; i < n; ++i) {
                        xs[i] = table[codes[i]];
                        ys[i] = y[eras.row(e, i)];
                    }
                    out[e * m + j] = detail::pearson(xs, ys, n, false);
                    return;
                }
            }
        }
        const Index count =
            detail::sort_column<T>(s.sort, n, [&](Index i) { return x(eras.row(e, i), j); });
        // x and y in sorted order, so a top/bottom selection is two contiguous ranges.
        std::vector<double> xs(static_cast<std::size_t>(count));
        std::vector<double> ys(static_cast<std::size_t>(count));
        s.sort.for_each_code(tr.method, [&](Index i, std::uint32_t pos, std::int64_t code) {
            xs[static_cast<std::size_t>(i)] = transformed(table, tr, code, count, n);
            ys[static_cast<std::size_t>(i)] = y[eras.row(e, pos)];
        });
        const Index k = detail::select_top_bottom(xs, top_bottom, s.values);
        detail::select_top_bottom(ys, top_bottom, s.other);
        out[e * m + j] = detail::pearson(s.values.data(), s.other.data(), k, false);
    });
}

// out (n_eras x cols) = contribution of each column of p (already ranked and
// gaussianized) beyond the metamodel vector mm, against the prepared target t:
//   p_perp = p - mm (p.mm) / (mm.mm),   score = t . p_perp / n.
// With top_bottom = t > 0 only the t lowest and t highest p_perp values of the era take
// part (stable sort, ties by row order) and the sum is divided by 2 t instead of n; when
// 2 t >= n every row does. NaN where mm.mm is 0 or the era has fewer than 2 rows.
// When `rank` is given, p holds raw predictions and each column is first ranked and
// transformed per era (fused, so the transformed matrix is never stored).
//
// With `nonfinite` given, a column-era holding NaN or infinity scores NaN and sets
// *nonfinite (the caller's input check, fused into the gather).
//
// Ranked columns where every row takes part go the fastest way: the score is also
// p . w / n with w = t - mm (t.mm) / (mm.mm) (one vector per era), and NarrowRank sums
// that product in sorted order (no transformed column is stored).
template <class T>
void contribution_columns(const StridedMatrix<T>& p, const double* mm, const double* t,
                          const EraIndex& eras, Index top_bottom, int n_threads, double* out,
                          const RankTransform* rank = nullptr,
                          std::atomic<bool>* nonfinite = nullptr) {
    const Index m = p.cols;
    const auto tables =
        rank ? rank_tables(eras, *rank, n_threads)
             : std::vector<std::vector<double>>(static_cast<std::size_t>(eras.n_eras));
    // The metamodel and target of each era in era order (contiguous for the column loops).
    const auto total = static_cast<std::size_t>(eras.offsets[eras.n_eras]);
    std::vector<double> mm_era(total);
    std::vector<double> t_era(total);
    std::vector<double> mm_norm(static_cast<std::size_t>(eras.n_eras), 0.0);
    // For the fast path: w of each era, table[2 i + 1] of each era, and the first row of
    // each era whose rows are consecutive (-1 otherwise: read through the era order).
    const bool fast = rank && rank->method == RankMethod::Average && detail::kNarrowRankable<T>;
    std::vector<double> w_era(fast ? total : 0), odd_era(fast ? total : 0);
    std::vector<std::int64_t> era_start(static_cast<std::size_t>(eras.n_eras), -1);
    for (Index e = 0; e < eras.n_eras; ++e) {
        const Index n = eras.size(e);
        const auto off = static_cast<std::size_t>(eras.offsets[e]);
        double s = 0.0, c = 0.0;
        bool consecutive = n > 0;
        for (Index i = 0; i < n; ++i) {
            const auto r = eras.row(e, i);
            const auto at = off + static_cast<std::size_t>(i);
            const double v = mm[r];
            mm_era[at] = v;
            t_era[at] = t[r];
            s += v * v;
            c += t[r] * v;
            consecutive = consecutive && r == eras.row(e, 0) + i;
        }
        mm_norm[static_cast<std::size_t>(e)] = s;
        if (consecutive) era_start[static_cast<std::size_t>(e)] = eras.row(e, 0);
        if (fast && s != 0.0) {
            const double gamma = c / s;
            const auto& table = tables[static_cast<std::size_t>(e)];
            for (Index i = 0; i < n; ++i) {
                const auto at = off + static_cast<std::size_t>(i);
                w_era[at] = t_era[at] - mm_era[at] * gamma;
                if (!table.empty()) odd_era[at] = table[static_cast<std::size_t>(2 * i + 1)];
            }
        }
    }
    // True (and the cell set to NaN, *nonfinite set) when column j holds NaN or infinity
    // in era e; only when asked to check.
    auto refuse_nonfinite = [&](Index e, Index j) {
        if constexpr (std::is_floating_point<T>::value) {
            if (nonfinite == nullptr) return false;
            for (Index i = 0; i < eras.size(e); ++i) {
                if (!std::isfinite(static_cast<double>(p(eras.row(e, i), j)))) {
                    nonfinite->store(true, std::memory_order_relaxed);
                    out[e * m + j] = detail::kNaN;
                    return true;
                }
            }
        }
        return false;
    };
    parallel_for(eras.n_eras * m, n_threads, [&](Index task) {
        const Index e = task / m;
        const Index j = task % m;
        const Index n = eras.size(e);
        const double norm = mm_norm[static_cast<std::size_t>(e)];
        if (n < 2 || norm == 0.0) {
            if (!refuse_nonfinite(e, j)) out[e * m + j] = detail::kNaN;
            return;
        }
        const double* mme = mm_era.data() + eras.offsets[e];
        const double* te = t_era.data() + eras.offsets[e];
        auto& s = detail::scratch();
        s.values.resize(static_cast<std::size_t>(n));
        double* values = s.values.data();
        bool tried = false;  // the fast path declined: NarrowRank is not tried again
        if constexpr (detail::kNarrowRankable<T>) {
            const auto& table = tables[static_cast<std::size_t>(e)];
            if (fast && !table.empty() && (top_bottom <= 0 || 2 * top_bottom >= n)) {
                const std::int64_t start = era_start[static_cast<std::size_t>(e)];
                const T* col =
                    p.row_stride == 1 && start >= 0 ? p.data + start + j * p.col_stride : nullptr;
                const double* xs = values;
                detail::ColumnRange r;
                bool read = false;  // float64 read in place, without a copy
                if constexpr (std::is_same<T, double>::value) {
                    if (col) {
                        r = detail::contiguous_range(col, n);
                        xs = col;
                        read = true;
                    }
                }
                if (!read) {
                    r = col ? detail::column_range<true>(
                                  n, [col](Index i) { return static_cast<double>(col[i]); }, values)
                            : detail::column_range<true>(
                                  n,
                                  [&](Index i) {
                                      return static_cast<double>(p(eras.row(e, i), j));
                                  },
                                  values);
                }
                if (!r.finite && nonfinite) {
                    nonfinite->store(true, std::memory_order_relaxed);
                    out[e * m + j] = detail::kNaN;
                    return;
                }
                const auto off = static_cast<std::size_t>(eras.offsets[e]);
                double dot = 0.0;
                if (r.finite && s.narrow.dot(xs, n, r.lo, r.hi, table.data(), odd_era.data() + off,
                                             w_era.data() + off, dot)) {
                    out[e * m + j] = dot / static_cast<double>(n);
                    return;
                }
                tried = true;
            }
        }
        if (!tried && refuse_nonfinite(e, j)) return;
        double pm = 0.0;
        bool narrow = false;
        if (rank) {
            const auto& table = tables[static_cast<std::size_t>(e)];
            if constexpr (detail::kNarrowRankable<T>) {
                if (rank->method == RankMethod::Average && !table.empty() && !tried) {
                    // raw values in s.values (read by the rank), transformed into s.other
                    s.other.resize(static_cast<std::size_t>(n));
                    double* tv = s.other.data();
                    const double* tab = table.data();
                    narrow = detail::narrow_rank(
                        n, [&](Index i) { return static_cast<double>(p(eras.row(e, i), j)); }, s,
                        values,
                        [tv, tab](std::uint32_t i, std::uint32_t code) { tv[i] = tab[code]; });
                    if (narrow) values = tv;
                }
            }
            if (narrow) {
                pm = detail::lane_sum(n, [&](Index i) { return values[i] * mme[i]; });
            } else {
                const Index count = detail::sort_column<T>(
                    s.sort, n, [&](Index i) { return p(eras.row(e, i), j); });
                if (count < n) std::fill(values, values + n, detail::kNaN);  // NaN scores NaN
                s.sort.for_each_code(rank->method,
                                     [&](Index, std::uint32_t pos, std::int64_t code) {
                                         values[pos] = transformed(table, *rank, code, count, n);
                                     });
            }
        } else {
            for (Index i = 0; i < n; ++i) values[i] = static_cast<double>(p(eras.row(e, i), j));
        }
        if (!narrow)
            for (Index i = 0; i < n; ++i) pm += values[i] * mme[i];
        const double beta = pm / norm;
        double score = 0.0;
        if (top_bottom <= 0 || 2 * top_bottom >= n) {
            score =
                detail::lane_sum(n, [&](Index i) { return te[i] * (values[i] - mme[i] * beta); }) /
                static_cast<double>(n);
        } else {
            for (Index i = 0; i < n; ++i) values[i] -= mme[i] * beta;
            // The sort needs finite keys: a non-finite p_perp (inf or NaN in the inputs,
            // or mm.mm overflowing) has no top or bottom (found by fuzz_core: SIGSEGV).
            for (Index i = 0; i < n; ++i) {
                if (!std::isfinite(values[i])) {
                    out[e * m + j] = detail::kNaN;
                    return;
                }
            }
            s.sort.sort(n, [&](Index i) { return values[i]; });
            auto add = [&](Index k) {
                const auto pos = s.sort.position(k);
                score += te[pos] * values[pos];
            };
            for (Index k = 0; k < top_bottom; ++k) add(k);
            for (Index k = n - top_bottom; k < n; ++k) add(k);
            score /= static_cast<double>(2 * top_bottom);
        }
        out[e * m + j] = score;
    });
}

}  // namespace neutralkit
