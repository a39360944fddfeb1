#include "arrays.hpp"

#include <neutralkit/exposure.hpp>

#include <cstdint>

namespace py = pybind11;
namespace nk = neutralkit;

void register_diagnostics(py::module_& m) {
    using nk_bind::Int64Array;
    m.def(
        "feature_correlations",
        [](const py::array_t<double>& preds, const py::array& x, const Int64Array& order,
           const Int64Array& offsets, int n_threads) {
            if (preds.ndim() != 2 || x.ndim() != 2 || preds.shape(0) != x.shape(0))
                throw py::value_error("internal: preds and x must be 2-D with equal rows");
            const auto idx = nk_bind::era_index(order, offsets, x.shape(0));
            py::array_t<double> out(
                {static_cast<py::ssize_t>(idx.n_eras), preds.shape(1), x.shape(1)});
            double* out_ptr = out.mutable_data();
            const auto pv = nk_bind::strided_view<double>(preds);
            nk_bind::dispatch_matrix(x, [&](auto xv) {
                const double work = static_cast<double>(x.size()) * static_cast<double>(pv.cols);
                nk_bind::run_interruptible(
                    work, [&] { nk::feature_correlations(pv, xv, idx, n_threads, out_ptr); });
            });
            return out;
        },
        py::arg("preds").noconvert(), py::arg("x").noconvert(), py::arg("order").noconvert(),
        py::arg("offsets").noconvert(), py::arg("n_threads"),
        "Per-era Pearson correlations (n_eras x m x k) of preds columns with x columns.");
}
