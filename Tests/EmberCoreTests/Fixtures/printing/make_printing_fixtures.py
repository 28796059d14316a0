#!/usr/bin/env python3
"""Writes printing_fixtures.json: tensors and the exact `repr` PyTorch gives them.

Run with a PyTorch 2.x CPU install (generated with torch 2.13.0+cpu):
    python make_printing_fixtures.py > printing_fixtures.json

Each case records what Ember's formatter receives (shape, dtype, row-major values, device,
requires_grad, grad_fn name, whether it is an nn.Parameter, the print options) and `repr(t)`.
Floating values are written as Python `repr` strings ("nan", "inf", "-inf" included) so that the
Swift side parses the exact binary64 value of each element (float16/bfloat16/float32 elements widen
to float64 exactly). Integers and bools are written as decimal strings / "true" / "false".
"""
import json
import math

import torch

DEFAULTS = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)
CASES = []


def value_strings(t):
    if t.device.type == "meta" or t.numel() == 0:
        return []
    flat = t.detach().reshape(-1).tolist()
    if t.dtype.is_floating_point:
        return [repr(float(v)) for v in flat]
    if t.dtype == torch.bool:
        return ["true" if v else "false" for v in flat]
    return [str(int(v)) for v in flat]


def add(name, t, **opts):
    """Records `repr(t)` under the given print options (missing ones take PyTorch's defaults)."""
    options = dict(DEFAULTS, **opts)
    torch.set_printoptions(
        precision=options["precision"], threshold=options["threshold"],
        edgeitems=options["edgeitems"], linewidth=options["linewidth"], sci_mode=options["sci_mode"])
    try:
        expected = repr(t)
    finally:
        torch.set_printoptions(profile="default")
    grad_fn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
    if options["threshold"] == math.inf:
        options["threshold"] = None  # "never summarise"
    CASES.append(dict(
        name=name, shape=list(t.shape), dtype=str(t.dtype).replace("torch.", ""),
        values=value_strings(t), device=str(t.device), requires_grad=bool(t.requires_grad),
        grad_fn=grad_fn, is_parameter=isinstance(t, torch.nn.Parameter), options=options,
        expected=expected))


def main():
    torch.manual_seed(0)
    f = torch.float32

    # --- float formatting rules (_Formatter) ---
    add("fixed_mixed_signs", torch.tensor([-1.5, 2.25, 0.0, 10.125]))
    add("int_mode_floats", torch.tensor([1.0, 2.0, 300.0, -4.0]))
    add("int_mode_with_nonfinite", torch.tensor([1.0, float("nan"), float("-inf"), 20.0]))
    add("all_zero", torch.zeros(2, 3))
    add("negative_zero", torch.tensor([-0.0, 0.0, 1.0]))
    add("negative_zero_fraction", torch.tensor([-0.0, 0.5]))
    add("nonfinite_only", torch.tensor([float("nan"), float("inf"), float("-inf")]))
    add("fraction_with_nonfinite", torch.tensor([1.5, float("nan"), float("inf"), float("-inf")]))
    add("rounding_ties", torch.tensor([0.00005, 0.00015, 1.23455, 2.5e-1], dtype=torch.float64))
    add("sci_small_min", torch.tensor([1e-5, 1.0, 100.0]))
    add("sci_ratio", torch.tensor([0.001, 10.0]))
    add("sci_ratio_exact_1000_fixed", torch.tensor([0.01, 10.0], dtype=torch.float64))
    add("sci_large_max", torch.tensor([123456789.0]))
    add("sci_int_mode", torch.tensor([1.0, 1e9, -3.0]))
    add("sci_with_nan", torch.tensor([1e-6, float("nan"), -2.5, float("inf")]))
    add("sci_forced_on", torch.tensor([0.5, 1.25]), sci_mode=True)
    add("sci_forced_off", torch.tensor([1e-5, 1.0, 100.0]), sci_mode=False)
    add("sci_forced_off_int", torch.tensor([1.0, 1e9]), sci_mode=False)
    add("precision_2", torch.tensor([3.14159, -2.71828, 1.0]), precision=2)
    add("precision_0_sci", torch.tensor([1e-5, 12.5]), precision=0)
    add("precision_8_float64", torch.tensor([1.0 / 3.0, 2.0 / 3.0], dtype=torch.float64), precision=8)
    add("scalar_float", torch.tensor(1.8524))
    add("scalar_int_mode", torch.tensor(3.0))
    add("scalar_negative_zero", torch.tensor(-0.0))
    add("scalar_nan", torch.tensor(float("nan")))
    add("scalar_sci", torch.tensor(1e-7))
    add("scalar_int", torch.tensor(42))
    add("scalar_bool", torch.tensor(True))
    add("scalar_float16", torch.tensor(1.5, dtype=torch.float16))

    # --- dtypes ---
    add("float16_values", torch.tensor([0.1, 1.0 / 3.0, 65504.0, -2.0], dtype=torch.float16))
    add("bfloat16_values", torch.tensor([0.1, 1.0 / 3.0, 3.0e38, -2.0], dtype=torch.bfloat16))
    add("float64_values", torch.tensor([0.1, 0.2], dtype=torch.float64))
    add("int64_values", torch.tensor([[1, -20, 300], [4, 5, 6]]))
    add("int32_values", torch.tensor([1, 2, 3], dtype=torch.int32))
    add("int16_values", torch.tensor([-32768, 7], dtype=torch.int16))
    add("int8_values", torch.tensor([-128, 127, 0], dtype=torch.int8))
    add("uint8_values", torch.tensor([0, 255, 7], dtype=torch.uint8))
    add("bool_values", torch.tensor([[True, False, True], [False, False, True]]))
    add("bool_all_true", torch.tensor([True, True]))

    # --- empty ---
    add("empty_1d", torch.tensor([]))
    add("empty_2d", torch.zeros(0, 3))
    add("empty_3d", torch.zeros(2, 0, 4))
    add("empty_int64", torch.tensor([], dtype=torch.int64))
    add("empty_bool_2d", torch.zeros(0, 2, dtype=torch.bool))
    add("empty_float16", torch.zeros(0, dtype=torch.float16))

    # --- meta ---
    add("meta_3d", torch.empty(2, 6, 2, device="meta"))
    add("meta_int64", torch.empty(4, dtype=torch.int64, device="meta"))
    add("meta_scalar_float16", torch.empty((), dtype=torch.float16, device="meta"))
    add("meta_requires_grad", torch.empty(3, 3, device="meta", requires_grad=True))
    add("meta_empty", torch.empty(0, 3, device="meta"))

    # --- nesting, blank lines between higher dims ---
    add("nested_3d", torch.arange(24, dtype=f).reshape(2, 3, 4) / 8)
    add("nested_4d_int", torch.arange(16).reshape(2, 2, 2, 2))
    add("nested_5d_bool", torch.arange(32).reshape(2, 2, 2, 2, 2) % 3 == 0)

    # --- line wrapping ---
    add("wrap_1d_30_floats", torch.randn(30))
    add("wrap_1d_30_ints", torch.arange(30) * 37)
    add("wrap_2d_rows", torch.randn(2, 13))
    add("wrap_3d_rows", torch.randn(2, 2, 11) * 100)
    add("wrap_linewidth_40", torch.randn(12), linewidth=40)
    add("wrap_tiny_linewidth", torch.tensor([123456.5, 2.0]), linewidth=5)

    # --- summarisation ---
    add("summary_1d_2000_arange", torch.arange(2000, dtype=f))
    add("summary_1d_2000_randn", torch.randn(2000))
    add("summary_2d_50x50", torch.randn(50, 50))
    add("summary_2d_int_50x50", torch.arange(2500).reshape(50, 50))
    add("summary_3_by_400", torch.randn(3, 400))
    add("summary_400_by_3", torch.randn(400, 3))
    add("summary_3d", torch.randn(10, 2, 60))
    add("summary_bool", torch.arange(2000) % 7 == 0)
    add("summary_width_from_edges_only", torch.cat([torch.ones(3), torch.full((1994,), 123456.75), torch.ones(3)]))
    add("summary_threshold_5", torch.arange(10), threshold=5)
    add("summary_edgeitems_1", torch.randn(5, 6), threshold=10, edgeitems=1)
    add("summary_edgeitems_0_1d", torch.arange(10), threshold=5, edgeitems=0)
    add("summary_edgeitems_0_2d", torch.randn(4, 4), threshold=5, edgeitems=0)
    add("edgeitems_0_not_summarised", torch.tensor([1.5, 2.0]), edgeitems=0)
    add("summary_threshold_full", torch.arange(1200), threshold=math.inf)
    add("summary_exactly_threshold", torch.arange(1000))

    # --- autograd suffixes, Parameter ---
    a = torch.tensor([[1.0, 2.0], [3.0, 4.5]], requires_grad=True)
    add("leaf_requires_grad", a)
    add("grad_fn_mm", a @ a)
    add("grad_fn_sum_scalar", (a * 2).sum())
    add("parameter", torch.nn.Parameter(torch.tensor([[0.3374, -0.1778], [0.9178, 1.5810]])))
    add("parameter_no_grad", torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False))
    add("float64_requires_grad", torch.tensor([1.5, -2.0], dtype=torch.float64, requires_grad=True))
    w = torch.randn(8, dtype=torch.float64, requires_grad=True)
    add("suffix_wraps_dtype_and_grad", w * 3)
    b = torch.randn(1, 3, requires_grad=True)
    add("suffix_grad_fn_same_line", b + 1)
    c = torch.randn(4, 7, requires_grad=True)
    add("suffix_grad_fn_new_line", c * 2)
    add("suffix_size_edgeitems_0_requires_grad", torch.randn(3, requires_grad=True), edgeitems=0)
    # The book's printout of case C21 (docs/cases.md) shows this suffix on the last row's line; PyTorch wraps it (58 + 22 + 2 > 80).
    c21 = torch.tensor([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.7599, 0.6194, 0.6206, 0, 0, 0,
                        0, 0.4921, 0.4925, 0, 0, 0, 0, 0.3966, 0, 0.3775, 0, 0,
                        0, 0.3327, 0.3331, 0.3084, 0.3331, 0]).reshape(6, 6)
    add("c21_dropout_weights_grad_fn", c21 * torch.ones(6, 6, requires_grad=True))
    add("float16_requires_grad", torch.tensor([1.0, 2.0], dtype=torch.float16, requires_grad=True))

    sizes = [[], [0], [5], [2, 6, 2], [50257, 768]]
    print(json.dumps(dict(
        generator="make_printing_fixtures.py", torch_version=torch.__version__,
        sizes=[dict(shape=s, expected=str(torch.Size(s))) for s in sizes],
        cases=CASES), indent=1))


if __name__ == "__main__":
    main()
