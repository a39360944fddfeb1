#include "arrays.hpp"

#include <neutralkit/checks.hpp>

namespace py = pybind11;

void register_checks(py::module_& m) {
    m.def(
        "count_nonfinite",
        [](const py::array& x) {
            return nk_bind::dispatch_matrix(x, [](auto view) {
                // Safe: the view only reads the array, which the caller keeps alive.
                py::gil_scoped_release release;
                return neutralkit::count_nonfinite(view);
            });
        },
        py::arg("x").noconvert(),
        "(count, first column) of NaN/inf entries of a 2-D array; first column -1 if none.");
}
