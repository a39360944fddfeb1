// Kernels for the metamodel: the ranks of many user columns, kept as integer rank codes
// laid out per column, and the era sums of those ranks against a vector.
#pragma once

#include <neutralkit/rank.hpp>
#include <neutralkit/types.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace neutralkit {

// codes_t (cols x rows, row-major: one contiguous line per column of x) = the per-era rank
// code of each column: 2 r - 1 for the 1-based rank r (ties: their average rank, so the
// code is still an integer; or by row order for RankMethod::First). The uniform rank is
// code / (2 n), n the era's size. C must hold 2 n - 1 for the largest era. The input has
// no NaN (the caller refuses them).
//
// Why codes and not the uniform ranks of rank_columns: MMC ranks thousands of user
// columns and then only needs products of the ranks with a few vectors, so a 2-byte code
// per value is all it has to keep (a quarter of the memory of doubles), and the sums can
// scale by 1 / (2 n) once. Reading the columns is part of the hot spot: a task takes a
// block of columns of one era that fills a cache line of a C-order input (blocks start
// on a line boundary, so with line-aligned rows no line is read twice), copies it row by
// row into a contiguous tile with rows prefetched ahead (a column read straight from a
// C-order array misses the cache on every row), then sorts each tile column.
template <class T, class C>
void rank_code_lines(const StridedMatrix<T>& x, const EraIndex& eras, RankMethod method,
                     int n_threads, C* codes_t) {
    constexpr Index line_bytes = 64;
    constexpr Index block = std::min<Index>(16, line_bytes / static_cast<Index>(sizeof(T)));
    constexpr Index ahead = 32;  // rows prefetched ahead of the copy
    const Index m = x.cols;
    const Index rows = x.rows;
    // Columns before the first cache-line boundary form a block of their own.
    Index lead = 0;
    const auto address = reinterpret_cast<std::uintptr_t>(x.data);
    if (x.col_stride == 1 && address % sizeof(T) == 0)
        lead = static_cast<Index>((line_bytes - address % line_bytes) % line_bytes / sizeof(T));
    lead = std::min(lead, m);
    const Index n_blocks = (lead > 0 ? 1 : 0) + (m - lead + block - 1) / block;
    parallel_for(eras.n_eras * n_blocks, n_threads, [&](Index task) {
        const Index e = task / n_blocks;
        const Index b = task % n_blocks;
        const Index j0 = lead > 0 ? (b == 0 ? 0 : lead + (b - 1) * block) : b * block;
        const Index j1 = lead > 0 && b == 0 ? lead : std::min(m, j0 + block);
        const Index width = j1 - j0;
        const Index n = eras.size(e);
        const std::int64_t* era_rows = eras.order + eras.offsets[e];
        auto& scratch = detail::scratch();  // thread_local: looked up once per task
        scratch.values.resize(static_cast<std::size_t>(width * n));
        double* tile = scratch.values.data();
        for (Index i = 0; i < n; ++i) {
            if (i + ahead < n)
                __builtin_prefetch(&x.data[era_rows[i + ahead] * x.row_stride + j0 * x.col_stride]);
            const std::int64_t r = era_rows[i];
            for (Index c = 0; c < width; ++c) tile[c * n + i] = static_cast<double>(x(r, j0 + c));
        }
        for (Index c = 0; c < width; ++c) {
            const double* values = tile + c * n;
            if constexpr (std::is_integral<T>::value && sizeof(T) == 8) {
                // 64-bit integers past 2^53 are ranked exactly, from the input itself
                detail::sort_column<T>(scratch.sort, n,
                                       [&](Index i) { return x(era_rows[i], j0 + c); });
            } else {
                scratch.sort.sort(n, [&](Index i) { return values[i]; });
            }
            C* line = codes_t + (j0 + c) * rows;
            scratch.sort.for_each_code(method, [&](Index, std::uint32_t pos, std::int64_t code) {
                line[era_rows[pos]] = static_cast<C>(code);
            });
        }
    });
}

// out (n_eras x cols) = per era, sum over its rows of codes_t[j, row] * v[row], for each
// line j of codes_t (cols x rows). Lines in parallel; each sum in row order within the
// era, so the result does not depend on the thread count.
template <class C>
void code_line_dots(const C* codes_t, Index cols, Index rows, const EraIndex& eras, const double* v,
                    int n_threads, double* out) {
    constexpr Index block = 64;
    const Index n_blocks = (cols + block - 1) / block;
    // Eras whose rows are consecutive (sorted data, or one era) skip the row lookups.
    std::vector<char> contiguous(static_cast<std::size_t>(eras.n_eras), 1);
    for (Index e = 0; e < eras.n_eras; ++e)
        for (Index i = 1; i < eras.size(e) && contiguous[static_cast<std::size_t>(e)]; ++i)
            contiguous[static_cast<std::size_t>(e)] = eras.row(e, i) == eras.row(e, i - 1) + 1;
    parallel_for(n_blocks, n_threads, [&](Index b) {
        for (Index j = b * block; j < std::min(cols, (b + 1) * block); ++j) {
            const C* line = codes_t + j * rows;
            for (Index e = 0; e < eras.n_eras; ++e) {
                const std::int64_t* era_rows = eras.order + eras.offsets[e];
                const Index n = eras.size(e);
                double s = 0.0;
                if (contiguous[static_cast<std::size_t>(e)]) {
                    // A plain dot product, in four interleaved sums (a fixed order).
                    const C* l = line + era_rows[0];
                    const double* w = v + era_rows[0];
                    double part[4] = {0.0, 0.0, 0.0, 0.0};
                    Index i = 0;
                    for (; i + 4 <= n; i += 4)
                        for (int k = 0; k < 4; ++k)
                            part[k] += static_cast<double>(l[i + k]) * w[i + k];
                    for (; i < n; ++i) part[0] += static_cast<double>(l[i]) * w[i];
                    s = (part[0] + part[1]) + (part[2] + part[3]);
                } else {
                    for (Index i = 0; i < n; ++i)
                        s += static_cast<double>(line[era_rows[i]]) * v[era_rows[i]];
                }
                out[e * cols + j] = s;
            }
        }
    });
}

}  // namespace neutralkit
