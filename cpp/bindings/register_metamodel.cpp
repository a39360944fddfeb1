#include "arrays.hpp"

#include <neutralkit/metamodel.hpp>

#include <cstdint>
#include <stdexcept>

namespace py = pybind11;
namespace nk = neutralkit;

namespace {
using nk_bind::era_index;
using nk_bind::Int64Array;
using DoubleArray = py::array_t<double, py::array::c_style>;

template <class C>
py::array rank_codes_as(const py::array& x, const nk::EraIndex& idx, int method, int n_threads) {
    py::array_t<C> out({x.shape(1), x.shape(0)});
    C* out_ptr = out.mutable_data();
    nk_bind::dispatch_matrix(x, [&](auto xv) {
        nk_bind::run_interruptible(static_cast<double>(x.size()), [&] {
            nk::rank_code_lines(xv, idx, static_cast<nk::RankMethod>(method), n_threads, out_ptr);
        });
    });
    return out;
}

template <class C>
DoubleArray line_dots_as(const py::array& codes, const nk::EraIndex& idx, const double* v,
                         int n_threads) {
    const auto cols = static_cast<nk::Index>(codes.shape(0));
    const auto rows = static_cast<nk::Index>(codes.shape(1));
    DoubleArray out({static_cast<py::ssize_t>(idx.n_eras), static_cast<py::ssize_t>(cols)});
    double* out_ptr = out.mutable_data();
    const C* data = static_cast<const C*>(codes.data());
    nk_bind::run_interruptible(static_cast<double>(codes.size()), [&] {
        nk::code_line_dots(data, cols, rows, idx, v, n_threads, out_ptr);
    });
    return out;
}
}  // namespace

void register_metamodel(py::module_& m) {
    m.def(
        "rank_codes",
        [](const py::array& x, const Int64Array& order, const Int64Array& offsets, int method,
           int n_threads) -> py::array {
            nk_bind::check_shape(x, 2, -1, "x");
            const auto idx = era_index(order, offsets, x.shape(0));
            nk::Index largest = 0;
            for (nk::Index e = 0; e < idx.n_eras; ++e) largest = std::max(largest, idx.size(e));
            if (2 * largest - 1 <= 0xFFFF)
                return rank_codes_as<std::uint16_t>(x, idx, method, n_threads);
            if (2 * largest - 1 <= 0xFFFFFFFFLL)
                return rank_codes_as<std::uint32_t>(x, idx, method, n_threads);
            throw py::value_error("eras: an era has 2^31 rows or more");
        },
        py::arg("x").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("method"), py::arg("n_threads"),
        "Per-era rank codes 2 r - 1 of each column of x (no NaN), as a (cols x rows) array "
        "of uint16 (eras up to 32768 rows) or uint32; the uniform rank is code / (2 n).");
    m.def(
        "code_line_dots",
        [](const py::array& codes, const Int64Array& order, const Int64Array& offsets,
           const DoubleArray& v, int n_threads) -> DoubleArray {
            if (codes.ndim() != 2 || !(codes.flags() & py::array::c_style))
                throw py::value_error("internal: codes must be a C-contiguous 2-D array");
            if (v.ndim() != 1 || v.shape(0) != codes.shape(1))
                throw py::value_error("internal: v must have one value per row of codes");
            const auto idx = era_index(order, offsets, codes.shape(1));
            const auto kind = codes.dtype().kind();
            const auto size = codes.dtype().itemsize();
            if (kind == 'u' && size == 2)
                return line_dots_as<std::uint16_t>(codes, idx, v.data(), n_threads);
            if (kind == 'u' && size == 4)
                return line_dots_as<std::uint32_t>(codes, idx, v.data(), n_threads);
            throw py::type_error("internal: codes must be uint16 or uint32");
        },
        py::arg("codes").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("v").noconvert(), py::arg("n_threads"),
        "Per era, the sums over its rows of codes[j, row] * v[row]: an (eras x cols) array.");
}
