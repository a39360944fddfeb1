// Kernels for the metamodel: uniform ranks of many user columns, laid out per column.
#pragma once

#include <neutralkit/rank.hpp>
#include <neutralkit/types.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace neutralkit {

namespace detail {

struct LineScratch {
    std::vector<std::uint64_t> full;    // order key of each value, by era position
    std::vector<std::uint64_t> packed;  // high bits of the key | era position
    std::vector<std::uint64_t> tmp;
};

inline LineScratch& line_scratch() {
    thread_local LineScratch s;
    return s;
}

}  // namespace detail

// out_t (cols x rows, row-major: one contiguous line per column of x) = the per-era
// uniform rank (r - 0.5) / n of each column, r the 1-based rank (ties: their average
// rank, or by row order for RankMethod::First). The input has no NaN (the caller refuses
// them).
//
// Why not rank_columns: MMC ranks thousands of user columns, so the sort is the hot spot
// (about 1.5x faster here on 5000 x 5000), and it then only needs BLAS products of the
// ranks (M = R W, R^T v), for which the transposed layout is as good as any. The results
// are bit for bit those of rank_columns. The sort packs the era position into the low
// bits of the order key
// (8-byte items; the radix passes skip the position bits, already in order); the order is then
// exact, and stable, unless two values agree on every key bit left after packing: that
// is detected (the full keys are not sorted) and the column is sorted the slow way.
template <class T>
void uniform_rank_lines(const StridedMatrix<T>& x, const EraIndex& eras, RankMethod method,
                        int n_threads, double* out_t) {
    constexpr Index block = 8;  // columns per task: a cache line of a C-order input
    const Index m = x.cols;
    const Index rows = x.rows;
    const Index n_blocks = (m + block - 1) / block;
    parallel_for(eras.n_eras * n_blocks, n_threads, [&](Index task) {
        const Index e = task / n_blocks;
        const Index j0 = (task % n_blocks) * block;
        const Index j1 = std::min(m, j0 + block);
        const Index n = eras.size(e);
        const double count = static_cast<double>(n);
        const int bits = detail::position_bits(n);
        const std::uint64_t pos_mask = (std::uint64_t{1} << bits) - 1;
        auto& s = detail::line_scratch();
        for (Index j = j0; j < j1; ++j) {
            double* line = out_t + j * rows;
            // Same expression as RankTransform::apply: both rank paths agree bit for bit.
            auto write = [&](Index, std::uint32_t pos, std::int64_t code) {
                line[eras.row(e, pos)] = (0.5 * static_cast<double>(code)) / count;
            };
            auto get = [&](Index i) { return static_cast<double>(x(eras.row(e, i), j)); };
            bool sorted = bits <= 24;
            if (sorted) {
                s.full.resize(static_cast<std::size_t>(n));
                s.packed.resize(static_cast<std::size_t>(n));
                for (Index i = 0; i < n; ++i) {
                    const std::uint64_t k = detail::order_key(get(i));
                    s.full[static_cast<std::size_t>(i)] = k;
                    s.packed[static_cast<std::size_t>(i)] =
                        (k & ~pos_mask) | static_cast<std::uint64_t>(i);
                }
                detail::radix_sort_u64(s.packed, s.tmp, bits);
                for (Index i = 1; i < n && sorted; ++i)
                    sorted = s.full[s.packed[static_cast<std::size_t>(i - 1)] & pos_mask] <=
                             s.full[s.packed[static_cast<std::size_t>(i)] & pos_mask];
            }
            if (!sorted) {
                auto& slow = detail::scratch();
                detail::sort_column(n, get, slow.keys, slow.tmp);
                detail::for_each_rank_code(slow.keys, method, write);
                continue;
            }
            auto pos_at = [&](Index i) {
                return static_cast<std::uint32_t>(s.packed[static_cast<std::size_t>(i)] &
                                                  pos_mask);
            };
            if (method == RankMethod::First) {
                for (Index i = 0; i < n; ++i) write(i, pos_at(i), 2 * i + 1);
                continue;
            }
            Index a = 0;
            while (a < n) {
                const std::uint64_t key = s.full[pos_at(a)];
                Index b = a + 1;
                while (b < n && s.full[pos_at(b)] == key) ++b;
                for (Index i = a; i < b; ++i) write(i, pos_at(i), a + b);
                a = b;
            }
        }
    });
}

}  // namespace neutralkit
