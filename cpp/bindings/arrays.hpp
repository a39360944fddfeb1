// Conversion helpers for the bindings: NumPy arrays -> kernel views, no copies.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <neutralkit/types.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

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

// Calls f(StridedMatrix<T>) with T the array's element type (int8..int64, float32,
// float64). Other types are refused: the Python layer converts or raises before this.
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
    throw py::type_error("internal: unsupported dtype " + std::string(py::str(a.dtype())));
}

// Era order and offsets come from NumPy as C-contiguous int64 arrays.
using Int64Array = py::array_t<std::int64_t, py::array::c_style>;

// The kernels' view of the eras: rows of era e are order[offsets[e] .. offsets[e + 1]).
inline neutralkit::EraIndex era_index(const Int64Array& order, const Int64Array& offsets) {
    neutralkit::EraIndex idx;
    idx.order = order.data();
    idx.offsets = offsets.data();
    idx.n_eras = static_cast<Index>(offsets.size()) - 1;
    return idx;
}

}  // namespace nk_bind
