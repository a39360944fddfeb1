// Shared types for neutralkit's kernels: Eigen and the standard library only.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace neutralkit {

using Index = Eigen::Index;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A read-only view of a 2-D array with arbitrary element strides (C order, F order or a
// strided NumPy view), so inputs are read where they lie instead of being copied.
template <class T>
struct StridedMatrix {
    const T* data = nullptr;
    Index rows = 0;
    Index cols = 0;
    Index row_stride = 0;  // in elements
    Index col_stride = 0;  // in elements

    T operator()(Index i, Index j) const { return data[i * row_stride + j * col_stride]; }
};

// Rows grouped by era: the rows of era e are order[offsets[e] .. offsets[e + 1]).
struct EraIndex {
    const std::int64_t* order = nullptr;
    const std::int64_t* offsets = nullptr;
    Index n_eras = 0;

    Index size(Index e) const { return static_cast<Index>(offsets[e + 1] - offsets[e]); }
    std::int64_t row(Index e, Index i) const { return order[offsets[e] + i]; }
};

// Runs body(task) for task in [0, n_tasks) on up to n_threads threads. Tasks are handed
// out one at a time, and each writes only its own outputs, so the result does not depend
// on the thread count. The first exception thrown by a task is rethrown here.
template <class Body>
void parallel_for(Index n_tasks, int n_threads, Body&& body) {
    const int workers = static_cast<int>(std::max<Index>(1, std::min<Index>(n_threads, n_tasks)));
    if (workers <= 1) {
        for (Index t = 0; t < n_tasks; ++t) body(t);
        return;
    }
    std::atomic<Index> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto run = [&]() {
        for (;;) {
            const Index t = next.fetch_add(1);
            if (t >= n_tasks) return;
            try {
                body(t);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(n_tasks);
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(workers - 1));
    for (int w = 1; w < workers; ++w) pool.emplace_back(run);
    run();
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace neutralkit
