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

// Cooperative cancellation. Whoever runs a kernel (the bindings, on Ctrl-C) may set
// `requested`; kernels stop at the next task boundary (an era, a block of columns) and
// throw Interrupted, leaving their outputs half written (the caller discards them).
//
// The token reaches the kernels through a thread-local "current interrupt" installed by
// InterruptScope, instead of a parameter on every kernel: parallel_for is where every
// kernel hands out its work, so it is the one place that needs to look, and it passes
// the token on to its worker threads. Without a scope nothing is ever interrupted.
struct Interrupt {
    std::atomic<bool> requested{false};
};

class Interrupted : public std::exception {
public:
    const char* what() const noexcept override { return "neutralkit: interrupted"; }
};

namespace detail {
inline const Interrupt*& current_interrupt() {
    thread_local const Interrupt* token = nullptr;
    return token;
}
}  // namespace detail

// Makes `token` the current interrupt of this thread for the scope's lifetime.
class InterruptScope {
public:
    explicit InterruptScope(const Interrupt* token) : previous_(detail::current_interrupt()) {
        detail::current_interrupt() = token;
    }
    ~InterruptScope() { detail::current_interrupt() = previous_; }
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

private:
    const Interrupt* previous_;
};

inline bool interrupt_requested(const Interrupt* token) {
    return token != nullptr && token->requested.load(std::memory_order_relaxed);
}

// Runs body(task) for task in [0, n_tasks) on up to n_threads threads. Tasks are handed
// out one at a time, and each writes only its own outputs, so the result does not depend
// on the thread count. The first exception thrown by a task is rethrown here; an
// interrupt request (see Interrupt) stops handing out tasks and throws Interrupted.
template <class Body>
void parallel_for(Index n_tasks, int n_threads, Body&& body) {
    const Interrupt* token = detail::current_interrupt();
    const int workers = static_cast<int>(std::max<Index>(1, std::min<Index>(n_threads, n_tasks)));
    if (workers <= 1) {
        for (Index t = 0; t < n_tasks; ++t) {
            if (interrupt_requested(token)) throw Interrupted();
            body(t);
        }
        return;
    }
    std::atomic<Index> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto run = [&]() {
        const InterruptScope scope(token);  // nested kernels in this thread see it too
        for (;;) {
            const Index t = next.fetch_add(1);
            if (t >= n_tasks) return;
            try {
                if (interrupt_requested(token)) throw Interrupted();
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
