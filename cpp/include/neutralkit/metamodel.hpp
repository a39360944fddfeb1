// Kernels for the metamodel: uniform ranks of many user columns, laid out per column.
#pragma once

#include <neutralkit/rank.hpp>
#include <neutralkit/types.hpp>

#include <algorithm>
#include <cstdint>

namespace neutralkit {

// out_t (cols x rows, row-major: one contiguous line per column of x) = the per-era
// uniform rank (r - 0.5) / n of each column. MMC ranks thousands of user columns and then
// only needs BLAS products of the ranks (M = R W, R^T v), for which the transposed layout
// is as good; writing each column into its own line keeps the scattered writes of a sort
// inside one cache-resident line instead of striding across the whole matrix. Columns are
// handled in blocks of 8 so that each cache line of a C-order input is read once per block.
// The input has no NaN (the caller refuses them).
template <class T>
void uniform_rank_lines(const StridedMatrix<T>& x, const EraIndex& eras, RankMethod method,
                        int n_threads, double* out_t) {
    constexpr Index block = 8;
    const Index m = x.cols;
    const Index rows = x.rows;
    const Index n_blocks = (m + block - 1) / block;
    parallel_for(eras.n_eras * n_blocks, n_threads, [&](Index task) {
        const Index e = task / n_blocks;
        const Index j0 = (task % n_blocks) * block;
        const Index j1 = std::min(m, j0 + block);
        const Index n = eras.size(e);
        const double count = static_cast<double>(n);
        auto& s = detail::scratch();
        for (Index j = j0; j < j1; ++j) {
            detail::sort_column(
                n, [&](Index i) { return static_cast<double>(x(eras.row(e, i), j)); }, s.keys,
                s.tmp);
            double* line = out_t + j * rows;
            // Same expression as RankTransform::apply, so both rank paths agree bit for bit.
            detail::for_each_rank_code(s.keys, method,
                                       [&](Index, std::uint32_t pos, std::int64_t code) {
                                           line[eras.row(e, pos)] =
                                               (0.5 * static_cast<double>(code)) / count;
                                       });
        }
    });
}

}  // namespace neutralkit
