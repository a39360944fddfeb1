#include "arrays.hpp"

#include <neutralkit/checks.hpp>

namespace py = pybind11;

void register_checks(py::module_& m) {
    m.def(
        "count_nonfinite",
        [](const py::array& x, bool nan_only) {
            return nk_bind::dispatch_matrix(x, [nan_only](auto view) {
                // Safe: the view only reads the array, which the caller keeps alive.
                py::gil_scoped_release release;
                return neutralkit::count_nonfinite(view, nan_only);
            });
        },
        py::arg("x").noconvert(), py::arg("nan_only") = false,
        "(count, first column) of NaN/inf entries (NaN only if nan_only) of a 2-D array; "
        "first column -1 if none.");
}
