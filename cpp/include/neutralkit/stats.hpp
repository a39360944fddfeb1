// Per-era statistics of many prediction columns against one target: Pearson correlation,
// covariance, rank-transformed correlation (corr, numerai_corr) and the contribution of
// predictions orthogonal to a metamodel. Tasks are (era, column) pairs; each writes one
// output cell, so results do not depend on the thread count.
#pragma once

#include <neutralkit/rank.hpp>
#include <neutralkit/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace neutralkit {

namespace detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pearson correlation (or covariance with ddof=1) of x[0..n) and y[0..n), two-pass.
// NaN with fewer than 2 values, and for a correlation when either side is constant.
inline double pearson(const double* x, const double* y, Index n, bool covariance) {
    if (n < 2) return kNaN;
    double sx = 0.0, sy = 0.0;
    bool x_const = true, y_const = true;
    for (Index i = 0; i < n; ++i) {
        sx += x[i];
        sy += y[i];
        x_const = x_const && x[i] == x[0];
        y_const = y_const && y[i] == y[0];
    }
    const double mx = sx / static_cast<double>(n);
    const double my = sy / static_cast<double>(n);
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (Index i = 0; i < n; ++i) {
        const double dx = x_const ? 0.0 : x[i] - mx;
        const double dy = y_const ? 0.0 : y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (covariance) return sxy / static_cast<double>(n - 1);
    if (x_const || y_const || sxx == 0.0 || syy == 0.0) return kNaN;
    const double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
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

}  // namespace detail

enum class TargetMode : int { Raw = 0, Center = 1, CenterPower = 2, Contribution = 3 };

// Per-era target preparation, out[row] for every row:
//   Raw: t;  Center: t - mean;  CenterPower: signed_power(t - mean, power);
//   Contribution: 4 t when every t of the era lies in [0, 1] (buckets to -2..2), centred.
inline void prepare_target(const double* t, const EraIndex& eras, TargetMode mode, double power,
                           double* out) {
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
        double mean = 0.0;
        if (mode != TargetMode::Raw) {
            double s = 0.0;
            for (Index i = 0; i < n; ++i) s += scale * t[eras.row(e, i)];
            mean = n ? s / static_cast<double>(n) : 0.0;
        }
        for (Index i = 0; i < n; ++i) {
            const auto r = eras.row(e, i);
            const double c = scale * t[r] - mean;
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
        const Index count =
            s.sort.sort(n, [&](Index i) { return static_cast<double>(x(eras.row(e, i), j)); });
        const auto& table = tables[static_cast<std::size_t>(e)];
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
template <class T>
void contribution_columns(const StridedMatrix<T>& p, const double* mm, const double* t,
                          const EraIndex& eras, Index top_bottom, int n_threads, double* out,
                          const RankTransform* rank = nullptr) {
    const Index m = p.cols;
    const auto tables =
        rank ? rank_tables(eras, *rank, n_threads)
             : std::vector<std::vector<double>>(static_cast<std::size_t>(eras.n_eras));
    std::vector<double> mm_norm(static_cast<std::size_t>(eras.n_eras), 0.0);
    for (Index e = 0; e < eras.n_eras; ++e) {
        double s = 0.0;
        for (Index i = 0; i < eras.size(e); ++i) {
            const double v = mm[eras.row(e, i)];
            s += v * v;
        }
        mm_norm[static_cast<std::size_t>(e)] = s;
    }
    parallel_for(eras.n_eras * m, n_threads, [&](Index task) {
        const Index e = task / m;
        const Index j = task % m;
        const Index n = eras.size(e);
        const double norm = mm_norm[static_cast<std::size_t>(e)];
        if (n < 2 || norm == 0.0) {
            out[e * m + j] = detail::kNaN;
            return;
        }
        auto& s = detail::scratch();
        s.values.resize(static_cast<std::size_t>(n));
        if (rank) {
            const Index count =
                s.sort.sort(n, [&](Index i) { return static_cast<double>(p(eras.row(e, i), j)); });
            const auto& table = tables[static_cast<std::size_t>(e)];
            s.sort.for_each_code(rank->method, [&](Index, std::uint32_t pos, std::int64_t code) {
                s.values[pos] = transformed(table, *rank, code, count, n);
            });
        } else {
            for (Index i = 0; i < n; ++i)
                s.values[static_cast<std::size_t>(i)] = static_cast<double>(p(eras.row(e, i), j));
        }
        double pm = 0.0;
        for (Index i = 0; i < n; ++i)
            pm += s.values[static_cast<std::size_t>(i)] * mm[eras.row(e, i)];
        const double beta = pm / norm;
        for (Index i = 0; i < n; ++i)
            s.values[static_cast<std::size_t>(i)] -= mm[eras.row(e, i)] * beta;
        double score = 0.0;
        if (top_bottom <= 0 || 2 * top_bottom >= n) {
            for (Index i = 0; i < n; ++i)
                score += t[eras.row(e, i)] * s.values[static_cast<std::size_t>(i)];
            score /= static_cast<double>(n);
        } else {
            s.sort.sort(n, [&](Index i) { return s.values[static_cast<std::size_t>(i)]; });
            auto add = [&](Index k) {
                const auto pos = s.sort.position(k);
                score += t[eras.row(e, pos)] * s.values[pos];
            };
            for (Index k = 0; k < top_bottom; ++k) add(k);
            for (Index k = n - top_bottom; k < n; ++k) add(k);
            score /= static_cast<double>(2 * top_bottom);
        }
        out[e * m + j] = score;
    });
}

}  // namespace neutralkit
