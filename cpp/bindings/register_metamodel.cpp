#include "arrays.hpp"

#include <neutralkit/metamodel.hpp>

#include <cstdint>

namespace py = pybind11;
namespace nk = neutralkit;

namespace {
using Int64Array = py::array_t<std::int64_t, py::array::c_style>;
}  // namespace

void register_metamodel(py::module_& m) {
    m.def(
        "uniform_rank_lines",
        [](const py::array& x, const Int64Array& order, const Int64Array& offsets, int method,
           int n_threads) {
            py::array_t<double> out({x.shape(1), x.shape(0)});
            double* out_ptr = out.mutable_data();
            nk::EraIndex idx;
            idx.order = order.data();
            idx.offsets = offsets.data();
            idx.n_eras = static_cast<nk::Index>(offsets.size()) - 1;
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                // Safe: the kernel only reads buffers the caller keeps alive and writes
                // `out`, which no other thread can see yet.
                py::gil_scoped_release release;
                nk::uniform_rank_lines(xv, idx, static_cast<nk::RankMethod>(method),
                                       n_threads, out_ptr);
            });
            return out;
        },
        py::arg("x").noconvert(), py::arg("order").noconvert(), py::arg("offsets").noconvert(),
        py::arg("method"), py::arg("n_threads"),
        "Per-era uniform ranks of each column of x (no NaN), as a (cols x rows) array.");
}
