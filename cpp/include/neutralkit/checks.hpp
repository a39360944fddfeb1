// Input checks that must not allocate a temporary the size of the input.
#pragma once

#include <neutralkit/types.hpp>

#include <cmath>
#include <limits>
#include <utility>

namespace neutralkit {

// Number of NaN/inf entries (NaN only when nan_only) and the first column (lowest index)
// holding one, or -1.
template <class T>
std::pair<std::int64_t, Index> count_nonfinite(const StridedMatrix<T>& x, bool nan_only = false) {
    std::int64_t count = 0;
    Index first_col = std::numeric_limits<Index>::max();
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
