// Conversion helpers for the bindings: NumPy arrays -> kernel views, no copies.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <neutralkit/types.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace nk_bind {

namespace py = pybind11;
using neutralkit::Index;

template <class T>
neutralkit::StridedMatrix<T> strided_view(const py::array& a) {
    if (a.ndim() != 2) throw py::value_error("internal: expected a 2-D array");
    const auto item = static_cast<py::ssize_t>(sizeof(T));
    if (a.strides(0) % item != 0 || a.strides(1) % item != 0)
        throw py::value_error("internal: array strides are not a multiple of the item size");
    neutralkit::StridedMatrix<T> v;
    v.data = static_cast<const T*>(a.data());
    v.rows = static_cast<Index>(a.shape(0));
    v.cols = static_cast<Index>(a.shape(1));
    v.row_stride = static_cast<Index>(a.strides(0) / item);
    v.col_stride = static_cast<Index>(a.strides(1) / item);
    return v;
}

// Calls f(StridedMatrix<T>) with T the array's element type (int8..int64, uint64,
// float32, float64). Other types are refused: the Python layer converts or raises before this.
template <class F>
auto dispatch_matrix(const py::array& a, F&& f) {
    const char kind = a.dtype().kind();
    const auto size = a.dtype().itemsize();
    if (kind == 'f' && size == 8) return f(strided_view<double>(a));
    if (kind == 'f' && size == 4) return f(strided_view<float>(a));
    if (kind == 'i' && size == 1) return f(strided_view<std::int8_t>(a));
    if (kind == 'i' && size == 2) return f(strided_view<std::int16_t>(a));
    if (kind == 'i' && size == 4) return f(strided_view<std::int32_t>(a));
    if (kind == 'i' && size == 8) return f(strided_view<std::int64_t>(a));
    // uint64 arrives only with values past 2^63 (smaller ones come as int64): kept as
    // is, so that ranks stay exact where float64 would round them into ties
    if (kind == 'u' && size == 8) return f(strided_view<std::uint64_t>(a));
    throw py::type_error("internal: unsupported dtype " + std::string(py::str(a.dtype())));
}

// Era order and offsets come from NumPy as C-contiguous int64 arrays.
using Int64Array = py::array_t<std::int64_t, py::array::c_style>;

// The kernels' view of the eras: rows of era e are order[offsets[e] .. offsets[e + 1]).
// Checked here, so a kernel never reads outside its arrays: offsets start at 0, never
// decrease and end at order's length; with n_rows >= 0, every row number lies in
// [0, n_rows). O(rows), far below any kernel's cost.
inline neutralkit::EraIndex era_index(const Int64Array& order, const Int64Array& offsets,
                                      py::ssize_t n_rows = -1) {
    if (order.ndim() != 1 || offsets.ndim() != 1 || offsets.size() < 1)
        throw py::value_error("internal: era order and offsets must be non-empty 1-D arrays");
    const std::int64_t* off = offsets.data();
    const auto n_eras = static_cast<Index>(offsets.size()) - 1;
    if (off[0] != 0 || off[n_eras] != static_cast<std::int64_t>(order.size()))
        throw py::value_error("internal: era offsets do not cover the era order");
    for (Index e = 0; e < n_eras; ++e)
        if (off[e + 1] < off[e]) throw py::value_error("internal: era offsets decrease");
    if (n_rows >= 0) {
        const std::int64_t* rows = order.data();
        for (py::ssize_t i = 0; i < order.size(); ++i)
            if (rows[i] < 0 || rows[i] >= n_rows)
                throw py::value_error("internal: era order names a row outside the data");
    }
    neutralkit::EraIndex idx;
    idx.order = order.data();
    idx.offsets = off;
    idx.n_eras = n_eras;
    return idx;
}

// ValueError unless a has `ndim` dimensions and `rows` rows (rows < 0: any).
inline void check_shape(const py::array& a, py::ssize_t ndim, py::ssize_t rows, const char* name) {
    if (a.ndim() != ndim || (rows >= 0 && a.shape(0) != rows))
        throw py::value_error(std::string("internal: ") + name + " has the wrong shape");
}

// True when called from Python's main thread, the only one that runs signal handlers
// (so the only one where polling for Ctrl-C can see anything). Needs the GIL.
inline bool on_main_thread() {
    static const auto main_ident =
        py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
    return PyThread_get_thread_ident() == main_ident;
}

// Inputs smaller than this many values run inline: they finish long before a Ctrl-C
// poll would, and a thread start (~30 us) would be most of their cost.
constexpr double kInterruptibleWork = 65536.0;

// Runs f() (a kernel call: no Python inside) with the GIL released and returns its
// result, so that Ctrl-C stops it within ~0.1 s plus one kernel task. The kernel runs
// on a worker thread under an InterruptScope while this (the calling) thread waits in
// 100 ms slices, taking the GIL between them to run PyErr_CheckSignals(): only the main
// thread can run Python's signal handlers, and it must not be busy in the kernel. When a
// handler raises (KeyboardInterrupt), the token is set, the kernel stops at its next
// task boundary, is joined, and the Python exception propagates. Kernel exceptions are
// rethrown here. `work` (the number of values the call reads) picks the inline path for
// small calls; calls from other threads run inline too (no signal can reach them).
template <class F>
auto run_interruptible(double work, F&& f) -> decltype(f()) {
    using Result = decltype(f());
    if (work < kInterruptibleWork || !on_main_thread()) {
        // Safe: kernels only read buffers the caller keeps alive and write outputs no
        // other thread can see yet.
        py::gil_scoped_release release;
        return f();
    }
    neutralkit::Interrupt token;
    std::packaged_task<Result()> task([&]() -> Result {
        const neutralkit::InterruptScope scope(&token);
        return f();
    });
    auto done = task.get_future();
    bool interrupted = false;
    {
        // Safe: as above; the worker touches no Python object.
        py::gil_scoped_release release;
        std::thread worker(std::move(task));
        for (;;) {
            if (done.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) break;
            bool raised = false;
            {
                py::gil_scoped_acquire acquire;
                raised = PyErr_CheckSignals() != 0;  // leaves the exception set
            }
            if (raised) {
                token.requested.store(true);
                interrupted = true;
                break;
            }
        }
        worker.join();
    }
    if (interrupted) throw py::error_already_set();
    return done.get();
}

}  // namespace nk_bind
