// Today's contribution family (numerai-tools 0.7.2), per era: neutralized weights, alpha
// and the meta-portfolio contribution (MPC).
//
// Per era, with predictions P (n x m), neutralizers N (n x k, used as given: expected
// orthonormal) and sample weights v:
//   S = p15(ndtri(rank_avg(P)))         one batched rank of every column; the transform
//                                       is a per-era table of the 2n possible codes
//   W = (S - N (Nᵀ (v ∘ S))) ∘ v        two GEMMs per block of columns (Eigen)
//   alpha = Wᵀ t_c / n
//   MPC: W_c = W - column means, q = W_c s (re-centred),
//        mpc = (W_cᵀ t_c - W_cᵀ q (qᵀ t_c) / (qᵀ q)) / ||q|| / 50
// Work is split into (era, block of kBlock columns) tasks, each writing only its own
// columns; the blocks are fixed, so results do not depend on the thread count. With
// fewer eras than threads the eras run one after another and their blocks in parallel.
#pragma once

#include <neutralkit/rank.hpp>
#include <neutralkit/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace neutralkit {

// The inputs every contribution kernel reads. Rows are the rows of `preds`; `cols` picks
// (and orders) the prediction columns used, `n_cols` of them.
template <class T>
struct ContributionInputs {
    StridedMatrix<T> preds;              // n x m raw predictions (no NaN)
    const std::int64_t* cols = nullptr;  // n_cols column numbers of preds
    Index n_cols = 0;
    const double* neutralizers = nullptr;  // n x k, row-major
    Index k = 0;
    const double* sample_weights = nullptr;  // n
};

// What happens to each column of W after the projection (per era).
enum class WeightPost : int { None = 0, Center = 1, CenterNormalize = 2 };

namespace detail {

constexpr Index kBlock = 32;        // columns per task
constexpr double kMpcScale = 50.0;  // numerai-tools divides the gradient by 50
constexpr double kP15 = 1.5;

inline Index n_blocks(Index n_cols) { return (n_cols + kBlock - 1) / kBlock; }

// One era's small inputs, gathered once and shared by its column blocks.
struct ContributionEra {
    Index n = 0;
    Eigen::MatrixXd neut;       // n x k
    Eigen::MatrixXd neut_vt;    // k x n: (v ∘ N)ᵀ
    Eigen::VectorXd v;          // n
    std::vector<double> table;  // p15(ndtri((code / 2) / n)) for code in [1, 2n)
};

template <class T>
ContributionEra gather_era(const ContributionInputs<T>& in, const EraIndex& eras, Index e) {
    ContributionEra d;
    const Index n = eras.size(e);
    d.n = n;
    d.neut.resize(n, in.k);
    d.v.resize(n);
    for (Index i = 0; i < n; ++i) {
        const auto r = eras.row(e, i);
        d.v(i) = in.sample_weights[r];
        for (Index c = 0; c < in.k; ++c) d.neut(i, c) = in.neutralizers[r * in.k + c];
    }
    d.neut_vt = (d.neut.array().colwise() * d.v.array()).matrix().transpose();
    RankTransform tr;
    tr.method = RankMethod::Average;
    tr.gaussian = true;
    tr.power = kP15;
    d.table.assign(static_cast<std::size_t>(2 * n), 0.0);
    for (Index code = 1; code < 2 * n; ++code)
        d.table[static_cast<std::size_t>(code)] = tr.apply(code, n);
    return d;
}

// Columns j0 .. j0 + w.cols() of W for one era, into w (n x block, column-major).
template <class T>
void weight_block(const ContributionInputs<T>& in, const EraIndex& eras, Index e,
                  const ContributionEra& d, Index j0, WeightPost post,
                  Eigen::Ref<Eigen::MatrixXd> w) {
    const Index n = d.n;
    const Index width = w.cols();
    // Gather the block row by row (a few consecutive values per row of a C-order input,
    // instead of one cache line per value when reading a column at a time), then rank
    // each column from its contiguous copy and overwrite it with the transformed ranks.
    const std::int64_t* cols = in.cols + j0;
    for (Index i = 0; i < n; ++i) {
        const auto r = eras.row(e, i);
        for (Index b = 0; b < width; ++b) w(i, b) = static_cast<double>(in.preds(r, cols[b]));
    }
    auto& sorted = scratch().sort;
    for (Index b = 0; b < width; ++b) {
        double* col = w.col(b).data();
        const Index count = sorted.sort(n, [&](Index i) { return col[i]; });
        if (count < n) {  // the Python layer never passes NaN; stay defined anyway
            std::fill(col, col + n, std::numeric_limits<double>::quiet_NaN());
            continue;
        }
        sorted.for_each_code(RankMethod::Average, [&](Index, std::uint32_t pos, std::int64_t code) {
            col[pos] = d.table[static_cast<std::size_t>(code)];
        });
    }
    if (in.k > 0) {
        const Eigen::MatrixXd a = d.neut_vt * w;  // k x block: Nᵀ (v ∘ S)
        w.noalias() -= d.neut * a;
    }
    w.array().colwise() *= d.v.array();
    if (post == WeightPost::None) return;
    for (Index b = 0; b < w.cols(); ++b) {
        auto col = w.col(b);
        col.array() -= col.mean();
        if (post == WeightPost::CenterNormalize) col /= col.cwiseAbs().sum();  // 0/0: NaN
    }
}

// Every column of W for one era (n x n_cols, column-major), blocks on `threads` threads.
template <class T>
void era_weights(const ContributionInputs<T>& in, const EraIndex& eras, Index e,
                 const ContributionEra& d, WeightPost post, int threads, Eigen::MatrixXd& w) {
    w.resize(d.n, in.n_cols);
    parallel_for(n_blocks(in.n_cols), threads, [&](Index blk) {
        const Index j0 = blk * kBlock;
        const Index width = std::min(kBlock, in.n_cols - j0);
        weight_block(in, eras, e, d, j0, post, w.middleCols(j0, width));
    });
}

// f(e, inner_threads) for every era: eras in parallel when there are enough of them,
// otherwise one after another with their column blocks in parallel.
template <class F>
void for_each_era(const EraIndex& eras, int n_threads, F&& f) {
    if (n_threads <= 1 || eras.n_eras >= n_threads) {
        parallel_for(eras.n_eras, n_threads, [&](Index e) { f(e, 1); });
    } else {
        for (Index e = 0; e < eras.n_eras; ++e) f(e, n_threads);
    }
}

// t - mean(t) over the rows of era e, in era order.
inline Eigen::VectorXd centred_target(const double* t, const EraIndex& eras, Index e) {
    const Index n = eras.size(e);
    Eigen::VectorXd tc(n);
    for (Index i = 0; i < n; ++i) tc(i) = t[eras.row(e, i)];
    tc.array() -= tc.mean();
    return tc;
}

}  // namespace detail

// out (n x n_cols, row-major, input row order) = the neutralized weights of each column
// per era, optionally centred and divided by their absolute sum.
template <class T>
void neutralized_weights(const ContributionInputs<T>& in, const EraIndex& eras, WeightPost post,
                         int n_threads, double* out) {
    const Index m = in.n_cols;
    detail::for_each_era(eras, n_threads, [&](Index e, int threads) {
        if (eras.size(e) == 0) return;  // Eigen reductions need at least one row
        const auto d = detail::gather_era(in, eras, e);
        parallel_for(detail::n_blocks(m), threads, [&](Index blk) {
            const Index j0 = blk * detail::kBlock;
            const Index width = std::min(detail::kBlock, m - j0);
            Eigen::MatrixXd w(d.n, width);
            detail::weight_block(in, eras, e, d, j0, post, w);
            for (Index i = 0; i < d.n; ++i) {
                double* row = out + eras.row(e, i) * m + j0;
                for (Index b = 0; b < width; ++b) row[b] = w(i, b);
            }
        });
    });
}

// out (n_eras x n_cols) = wᵀ (t - mean t) / n per era and column.
template <class T>
void alpha_columns(const ContributionInputs<T>& in, const double* target, const EraIndex& eras,
                   int n_threads, double* out) {
    const Index m = in.n_cols;
    detail::for_each_era(eras, n_threads, [&](Index e, int threads) {
        if (eras.size(e) == 0) {  // Eigen reductions need at least one row
            std::fill(out + e * m, out + (e + 1) * m, std::numeric_limits<double>::quiet_NaN());
            return;
        }
        const auto d = detail::gather_era(in, eras, e);
        const Eigen::VectorXd tc = detail::centred_target(target, eras, e);
        parallel_for(detail::n_blocks(m), threads, [&](Index blk) {
            const Index j0 = blk * detail::kBlock;
            const Index width = std::min(detail::kBlock, m - j0);
            Eigen::MatrixXd w(d.n, width);
            detail::weight_block(in, eras, e, d, j0, WeightPost::None, w);
            const Eigen::VectorXd a = w.transpose() * tc;
            for (Index b = 0; b < width; ++b) out[e * m + j0 + b] = a(b) / static_cast<double>(d.n);
        });
    });
}

// out (n_eras x n_cols) = the meta-portfolio contribution of each column per era, with
// `stakes` (n_cols, summing to 1) in the order of in.cols. NaN in an era where the
// portfolio q is identically 0.
template <class T>
void mpc_columns(const ContributionInputs<T>& in, const double* stakes, const double* target,
                 const EraIndex& eras, int n_threads, double* out) {
    const Index m = in.n_cols;
    const Eigen::Map<const Eigen::VectorXd> s(stakes, m);
    detail::for_each_era(eras, n_threads, [&](Index e, int threads) {
        double* row = out + e * m;
        if (eras.size(e) == 0) {  // Eigen reductions need at least one row
            std::fill(row, row + m, std::numeric_limits<double>::quiet_NaN());
            return;
        }
        const auto d = detail::gather_era(in, eras, e);
        const Eigen::VectorXd tc = detail::centred_target(target, eras, e);
        Eigen::MatrixXd wc;
        detail::era_weights(in, eras, e, d, WeightPost::Center, threads, wc);
        Eigen::VectorXd q = wc * s;
        q.array() -= q.mean();  // W_c s has mean 0 up to rounding; numerai-tools re-centres
        const double qq = q.squaredNorm();
        if (!(qq > 0.0)) {
            std::fill(row, row + m, std::numeric_limits<double>::quiet_NaN());
            return;
        }
        const double qt = q.dot(tc);
        const double scale = 1.0 / (std::sqrt(qq) * detail::kMpcScale);
        parallel_for(detail::n_blocks(m), threads, [&](Index blk) {
            const Index j0 = blk * detail::kBlock;
            const Index width = std::min(detail::kBlock, m - j0);
            const auto block = wc.middleCols(j0, width);
            const Eigen::VectorXd wt = block.transpose() * tc;
            const Eigen::VectorXd wq = block.transpose() * q;
            for (Index b = 0; b < width; ++b) row[j0 + b] = (wt(b) - wq(b) * (qt / qq)) * scale;
        });
    });
}

}  // namespace neutralkit
