// Today's contribution family (numerai-tools 0.7.2), per era: neutralized weights, alpha
// and the meta-portfolio contribution (MPC).
//
// Per era, with predictions P (n x m), neutralizers N (n x k, used as given: expected
// orthonormal) and sample weights v:
//   S = p15(ndtri(rank_avg(P)))         one batched rank of every column; the transform
//                                       is a per-era table of the 2n possible codes
//   A = Nᵀ (v ∘ S)                      one GEMM per block of columns (Eigen)
//   W = (S - N A) ∘ v                   formed only for neutralized_weights; alpha and MPC
//                                       use Wᵀ x = Sᵀ (v ∘ x) - Aᵀ (Nᵀ (v ∘ x))
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
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
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
    // Set when a prediction read is NaN or infinite (the caller then reports it; the
    // columns concerned come out NaN). The check rides on the gather, so the caller needs
    // no separate pass over the predictions.
    std::atomic<bool>* nonfinite = nullptr;
};

// What happens to each column of W after the projection (per era).
enum class WeightPost : int { None = 0, Center = 1, CenterNormalize = 2 };

namespace detail {

constexpr Index kBlock = 32;              // columns per task
constexpr double kMpcScale = 50.0;        // numerai-tools divides the gradient by 50
constexpr double kZeroPortfolio = 1e-12;  // see portfolio_scale
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

struct ScoreScratch {
    NarrowRank narrow;
    std::vector<std::uint32_t> code_of;
    std::vector<double> lo, hi, finite;
};

inline ScoreScratch& score_scratch() {
    thread_local ScoreScratch s;
    return s;
}

// Columns j0 .. j0 + s.cols() of S = p15(ndtri(rank_avg(P))) for one era, into s
// (n x block, column-major). With `codes` (n x block, column-major), each entry's rank
// code (2 rank - 1, S = table[code]) is kept too: a compact copy of S for a second pass.
template <class T, class Code = std::uint16_t>
void score_block(const ContributionInputs<T>& in, const EraIndex& eras, Index e,
                 const ContributionEra& d, Index j0, Eigen::Ref<Eigen::MatrixXd> s,
                 Code* codes = nullptr) {
    const Index n = d.n;
    const Index width = s.cols();
    // Gather the block row by row (a few consecutive values per row of a C-order input,
    // instead of one cache line per value when reading a column at a time), then rank
    // each column from its contiguous copy and overwrite it with the transformed ranks.
    const std::int64_t* cols = in.cols + j0;
    auto& scr = score_scratch();
    scr.lo.assign(static_cast<std::size_t>(width), std::numeric_limits<double>::infinity());
    scr.hi.assign(static_cast<std::size_t>(width), -std::numeric_limits<double>::infinity());
    scr.finite.assign(static_cast<std::size_t>(width), 0.0);  // x - x: 0, or NaN for NaN/inf
    double* lo = scr.lo.data();
    double* hi = scr.hi.data();
    double* finite = scr.finite.data();
    for (Index i = 0; i < n; ++i) {
        const auto r = eras.row(e, i);
        for (Index b = 0; b < width; ++b) {
            const double x = static_cast<double>(in.preds(r, cols[b]));
            s(i, b) = x;
            finite[b] += x - x;
            lo[b] = std::min(lo[b], x);
            hi[b] = std::max(hi[b], x);
        }
    }
    auto& sorted = scratch().sort;
    scr.code_of.resize(static_cast<std::size_t>(n));
    std::uint32_t* code_of = scr.code_of.data();
    for (Index b = 0; b < width; ++b) {
        double* col = s.col(b).data();
        Code* code_col = codes ? codes + b * n : nullptr;
        if (finite[b] == 0.0 && scr.narrow.rank(col, n, lo[b], hi[b], code_of)) {
            for (Index i = 0; i < n; ++i) col[i] = d.table[code_of[i]];
            if (code_col)
                for (Index i = 0; i < n; ++i) code_col[i] = static_cast<Code>(code_of[i]);
            continue;
        }
        if (finite[b] != 0.0 && in.nonfinite) in.nonfinite->store(true);
        // sort() copies the column, so col can be overwritten while the codes come out
        const Index count = sorted.sort(n, [&](Index i) { return col[i]; });
        if (count < n) {  // the Python layer never passes NaN; stay defined anyway
            std::fill(col, col + n, std::numeric_limits<double>::quiet_NaN());
            if (code_col) std::fill(code_col, code_col + n, Code{0});  // table[0] is 0
            continue;
        }
        if (code_col) {
            sorted.for_each_code(RankMethod::Average,
                                 [&](Index, std::uint32_t pos, std::int64_t code) {
                                     col[pos] = d.table[static_cast<std::size_t>(code)];
                                     code_col[pos] = static_cast<Code>(code);
                                 });
        } else {
            sorted.for_each_code(RankMethod::Average,
                                 [&](Index, std::uint32_t pos, std::int64_t code) {
                                     col[pos] = d.table[static_cast<std::size_t>(code)];
                                 });
        }
    }
}

// Columns j0 .. j0 + w.cols() of W for one era, into w (n x block, column-major).
template <class T>
void weight_block(const ContributionInputs<T>& in, const EraIndex& eras, Index e,
                  const ContributionEra& d, Index j0, WeightPost post,
                  Eigen::Ref<Eigen::MatrixXd> w) {
    score_block(in, eras, e, d, j0, w);
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

inline void fill_nan(double* first, double* last) {
    std::fill(first, last, std::numeric_limits<double>::quiet_NaN());
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

// out (n_eras x n_cols) = wᵀ (t - mean t) / n per era and column, without forming W:
//   Wᵀ x = Sᵀ (v ∘ x) - Aᵀ (Nᵀ (v ∘ x)),   A = Nᵀ (v ∘ S)
// (one GEMM for A and one matrix-vector product per block, instead of two GEMMs).
template <class T>
void alpha_columns(const ContributionInputs<T>& in, const double* target, const EraIndex& eras,
                   int n_threads, double* out) {
    const Index m = in.n_cols;
    detail::for_each_era(eras, n_threads, [&](Index e, int threads) {
        if (eras.size(e) == 0) {  // Eigen reductions need at least one row
            detail::fill_nan(out + e * m, out + (e + 1) * m);
            return;
        }
        const auto d = detail::gather_era(in, eras, e);
        const Eigen::VectorXd tc = detail::centred_target(target, eras, e);
        const Eigen::VectorXd vt = d.v.cwiseProduct(tc);
        const Eigen::VectorXd nt = d.neut_vt * tc;  // Nᵀ (v ∘ t_c)
        // One GEMM per block gives both A_b = Nᵀ (v ∘ S_b) and S_bᵀ (v ∘ t_c).
        Eigen::MatrixXd lhs(in.k + 1, d.n);
        lhs.topRows(in.k) = d.neut_vt;
        lhs.row(in.k) = vt.transpose();
        parallel_for(detail::n_blocks(m), threads, [&](Index blk) {
            const Index j0 = blk * detail::kBlock;
            const Index width = std::min(detail::kBlock, m - j0);
            Eigen::MatrixXd s(d.n, width);
            detail::score_block(in, eras, e, d, j0, s);
            const Eigen::MatrixXd r = lhs * s;
            Eigen::VectorXd a = r.row(in.k).transpose();
            a.noalias() -= r.topRows(in.k).transpose() * nt;
            for (Index b = 0; b < width; ++b) out[e * m + j0 + b] = a(b) / static_cast<double>(d.n);
        });
    });
}

namespace detail {

// The size a portfolio of this era has before its columns cancel: max(v) times the norm
// of an untied column of S (the p15 Gaussian scores of ranks 1..n). With stakes summing
// to 1, ||q|| below kZeroPortfolio times this means q is rounding noise, and so would the
// MPC be (it divides by ||q||); the era gets NaN (the reference twin uses the same rule).
inline double portfolio_scale(const ContributionEra& d) {
    double sq = 0.0;
    for (Index code = 1; code < 2 * d.n; code += 2) {
        const double g = d.table[static_cast<std::size_t>(code)];
        sq += g * g;
    }
    return d.v.cwiseAbs().maxCoeff() * std::sqrt(sq);
}

// The MPC of one era into row (n_cols values); Code holds a rank code (< 2n).
template <class Code, class T>
void mpc_era(const ContributionInputs<T>& in, const double* stakes, const double* target,
             const EraIndex& eras, Index e, int threads, double* row) {
    const Index m = in.n_cols;
    const Index k = in.k;
    const Index blocks = n_blocks(m);
    const Eigen::Map<const Eigen::VectorXd> stake(stakes, m);
    const auto d = gather_era(in, eras, e);
    const Index n = d.n;
    const Eigen::VectorXd tc = centred_target(target, eras, e);
    // Pass 1, per block: S_b (a block-local buffer), its rank codes (kept for pass 2),
    // and from one GEMM A_b = Nᵀ (v ∘ S_b), S_bᵀ v and S_bᵀ (v ∘ t_c); then S_b s_b.
    Eigen::MatrixXd lhs(k + 2, n);
    lhs.topRows(k) = d.neut_vt;
    lhs.row(k) = d.v.transpose();
    lhs.row(k + 1) = d.v.cwiseProduct(tc).transpose();
    std::unique_ptr<Code[]> codes(new Code[static_cast<std::size_t>(n * m)]);
    Eigen::MatrixXd a(k, m);             // A = Nᵀ (v ∘ S)
    Eigen::VectorXd sv(m), st(m);        // Sᵀ v, Sᵀ (v ∘ t_c)
    Eigen::MatrixXd ss_part(n, blocks);  // each block's S_b s_b
    parallel_for(blocks, threads, [&](Index blk) {
        const Index j0 = blk * kBlock;
        const Index width = std::min(kBlock, m - j0);
        Eigen::MatrixXd sb(n, width);
        score_block(in, eras, e, d, j0, sb, codes.get() + j0 * n);
        const Eigen::MatrixXd r = lhs * sb;
        a.middleCols(j0, width) = r.topRows(k);
        sv.segment(j0, width) = r.row(k).transpose();
        st.segment(j0, width) = r.row(k + 1).transpose();
        ss_part.col(blk).noalias() = sb * stake.segment(j0, width);
    });
    const Eigen::VectorXd nv = d.neut_vt * Eigen::VectorXd::Ones(n);  // Nᵀ v
    const Eigen::VectorXd nt = d.neut_vt * tc;                        // Nᵀ (v ∘ t_c)
    const Eigen::VectorXd mu = (sv - a.transpose() * nv) / static_cast<double>(n);
    Eigen::VectorXd q = ss_part.col(0);  // block shares summed in block order
    for (Index blk = 1; blk < blocks; ++blk) q += ss_part.col(blk);
    const Eigen::VectorXd as = a * stake;
    q -= d.neut * as;
    q = q.cwiseProduct(d.v);
    q.array() -= mu.dot(stake);
    q.array() -= q.mean();  // W_c s has mean 0 up to rounding; numerai-tools re-centres
    const double qq = q.squaredNorm();
    if (!(qq > 0.0) || std::sqrt(qq) <= kZeroPortfolio * portfolio_scale(d)) {
        fill_nan(row, row + m);  // a (numerically) zero portfolio: the MPC is undefined
        return;
    }
    // Pass 2: Sᵀ (v ∘ q), S read back through its rank codes.
    const Eigen::VectorXd vq = d.v.cwiseProduct(q);
    Eigen::VectorXd sq(m);
    const double* table = d.table.data();
    parallel_for(blocks, threads, [&](Index blk) {
        const Index j0 = blk * kBlock;
        const Index width = std::min(kBlock, m - j0);
        for (Index j = j0; j < j0 + width; ++j) {
            const Code* c = codes.get() + j * n;
            const double* x = vq.data();
            double acc[4] = {0.0, 0.0, 0.0, 0.0};  // independent chains for the gathers
            Index i = 0;
            for (; i + 4 <= n; i += 4)
                for (int u = 0; u < 4; ++u) acc[u] += table[c[i + u]] * x[i + u];
            for (; i < n; ++i) acc[0] += table[c[i]] * x[i];
            sq(j) = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
    });
    const Eigen::VectorXd nq = d.neut_vt * q;  // Nᵀ (v ∘ q)
    const Eigen::VectorXd wt = st - a.transpose() * nt - mu * tc.sum();
    const Eigen::VectorXd wq = sq - a.transpose() * nq - mu * q.sum();
    const double qt = q.dot(tc);
    const double scale = 1.0 / (std::sqrt(qq) * kMpcScale);
    for (Index j = 0; j < m; ++j) row[j] = (wt(j) - wq(j) * (qt / qq)) * scale;
}

}  // namespace detail

// out (n_eras x n_cols) = the meta-portfolio contribution of each column per era, with
// `stakes` (n_cols, summing to 1) in the order of in.cols. NaN in an era where the
// portfolio q is (numerically) 0: see portfolio_scale. W is never formed: with A = Nᵀ (v ∘ S) (k x
// m),
//   Wᵀ x = Sᵀ (v ∘ x) - Aᵀ (Nᵀ (v ∘ x)),   μ = Wᵀ 1 / n (the column means of W),
//   W s = v ∘ (S s - N (A s)),   q = W s - μᵀ s (then re-centred),
//   W_cᵀ x = Wᵀ x - μ (1ᵀ x),
//   mpc = (W_cᵀ t_c - W_cᵀ q (qᵀ t_c) / (qᵀ q)) / ||q|| / 50.
// Pass 1 (blocks) ranks S and takes every product with it that does not need q (each
// block's share of S s is summed in block order, so the result does not depend on the
// thread count); pass 2 computes Sᵀ (v ∘ q) from the rank codes kept in pass 1 (2 bytes
// per entry for eras under 32768 rows, a quarter of storing S).
template <class T>
void mpc_columns(const ContributionInputs<T>& in, const double* stakes, const double* target,
                 const EraIndex& eras, int n_threads, double* out) {
    const Index m = in.n_cols;
    detail::for_each_era(eras, n_threads, [&](Index e, int threads) {
        double* row = out + e * m;
        const Index n = eras.size(e);
        if (n == 0) {  // Eigen reductions need at least one row
            detail::fill_nan(row, row + m);
        } else if (2 * n <= 65536) {
            detail::mpc_era<std::uint16_t>(in, stakes, target, eras, e, threads, row);
        } else {
            detail::mpc_era<std::uint32_t>(in, stakes, target, eras, e, threads, row);
        }
    });
}

}  // namespace neutralkit
