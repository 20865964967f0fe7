"""The time-dependent IR drop (docs/physics/periphery.md#time-dependent-ir-drop): against a
hand-worked case and the slot-by-slot Thevenin solution, its physical limits, the split
and bit-wise passes, and the normal forward where it is off."""

from __future__ import annotations

import pytest
import torch
from _ir_drop_slots import slot_by_slot
from _periphery_helpers import BACKENDS

from aihw.core import IOParameters, IOParametersIRDropT, TileConfig
from aihw.core.inference.converters import (
    DualPairConductanceConverter,
    SinglePairConductanceConverter,
)
from aihw.core.mapping import MappingParameters
from aihw.core.periphery import Periphery
from aihw.core.tiles import InferenceTile

# No noise, no ADC quantisation or bound, no management: the MAC alone (the DAC keeps its
# grid, which sets the time slots).
QUIET = {
    "out_noise": 0.0,
    "out_res": 0.0,
    "out_bound": 0.0,
    "noise_management": "None",
    "bound_management": "None",
}


def periphery(out_size: int, phys_rows: int = 0, converter=None, test=True, **fields):
    io = IOParametersIRDropT(**{**QUIET, **fields})
    p = Periphery(io, "forward", out_size, seed=3)
    p.is_test, p.ir_drop_rows, p.ir_drop_converter = test, phys_rows, converter
    return p


def on_grid(shape, levels: int, seed=0, positive=False):
    """Inputs on the DAC grid ``k / levels`` in ``[-1, 1]`` (``[0, 1]`` if positive)."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0 if positive else -levels, levels + 1, shape, generator=g)
    return k.to(torch.float32) / levels


def weights(shape, seed=1, positive=False):
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(shape, generator=g)
    return w * 0.8 + 0.2 if positive else w * 2.0 - 1.0


# -- a hand-worked case -------------------------------------------------------------------
def test_two_rows_one_column_by_hand():
    # W = [1, 0.5] -> g+ = [25, 12.5] uS (max|W| at 25 uS), g- = 0; scale 25 uS per unit.
    # inp_res 1/6: L = 3 levels, 4 slots of d = 1/3; x = [1, 1/3] is on in slots 0-2 and 0.
    # One row per segment; wire 10 kohm per row = 0.01 Mohm; v_read 0.4.
    # Chain (row 0 far, row 1 at the south ADC): r1 = 1/25 + 0.01 = 0.05, r2 = 1/12.5 =
    # 0.08, r = r1 r2 / (r1 + r2) = 0.004/0.13; r_th = r + 0.005.
    r = 0.05 * 0.08 / 0.13
    r_th = r + 0.005
    v_both_on = (0.6 / 0.05 + 0.6 / 0.08) * r  # slot 0
    v_first_on = (0.6 / 0.05 + 0.4 / 0.08) * r  # slots 1 and 2
    v_off = (0.4 / 0.05 + 0.4 / 0.08) * r  # slot 3
    charge = sum((v - 0.4) / r_th for v in (v_both_on, v_first_on, v_first_on, v_off))
    expected = charge * (1 / 3) / (0.2 * 25.0)  # = 0.8315...
    p = periphery(1, inp_res=1 / 6, ir_drop_segments=2, ir_drop_rs=1e4, ir_drop_v_read=0.4)
    y = p.run(torch.tensor([[1.0, 1 / 3]]), torch.tensor([[1.0], [0.5]]), "reference")
    assert y.item() == pytest.approx(expected, rel=1e-5)
    assert y.item() < 1.0 + 0.5 / 3  # below the exact product


# -- against the slot-by-slot solution -----------------------------------------------------
@pytest.mark.parametrize(
    ("segments", "phys_rows", "v_read", "rs"),
    [(4, 8, 0.4005, 2e3), (8, 8, 0.41, 5e2), (2, 12, 0.39, 1e4), (1, 6, 0.4, 3e3)],
)
def test_one_pass_equals_the_slot_by_slot_solution(segments, phys_rows, v_read, rs):
    n, m = 6, 3
    w, x = weights((n, m)), on_grid((4, n), 7)
    p = periphery(m, phys_rows, inp_res=1 / 14, ir_drop_segments=segments, ir_drop_rs=rs,
                  ir_drop_v_read=v_read)  # fmt: skip
    y = p.run(x, w, "reference")
    # L = 7 levels: 8 slots of one DAC step (1/7)
    expected = slot_by_slot(x, w, slot=1 / 7, slots=8, segments=segments, phys_rows=phys_rows,
                            r_wire_ohm_per_row=rs, v_read=v_read)  # fmt: skip
    assert torch.allclose(y.double(), expected, rtol=2e-5, atol=2e-6)


def test_resolution_scale_halves_the_slots():
    n, m = 4, 2
    w, x = weights((n, m), seed=5), on_grid((3, n), 7, seed=6)
    p = periphery(m, 4, inp_res=1 / 14, ir_drop_segments=2, ir_drop_rs=5e3,
                  ir_drop_time_step_resolution_scale=0.5)  # fmt: skip
    # 4 slots over the window of 8 DAC steps: each slot 2/7 wide
    expected = slot_by_slot(x, w, slot=2 / 7, slots=4, segments=2, phys_rows=4,
                            r_wire_ohm_per_row=5e3, v_read=0.4005)  # fmt: skip
    assert torch.allclose(p.run(x, w, "reference").double(), expected, rtol=2e-5, atol=2e-6)


def test_split_and_bit_wise_passes_follow_the_slot_by_slot_solution():
    n, m, rs = 4, 2, 4e3
    w, x = weights((n, m), seed=7), on_grid((3, n), 8, seed=8)  # inp_res 1/16: L = 8
    common = {"inp_res": 1 / 16, "ir_drop_segments": 2, "ir_drop_rs": rs}
    k = torch.round(x * 8)  # integer levels
    solve = lambda v, slots: slot_by_slot(  # noqa: E731
        v, w, slot=1 / 8, slots=slots, segments=2, phys_rows=n, r_wire_ohm_per_row=rs,
        v_read=0.4005,
    )  # fmt: skip
    # SplitMode, shift 2: low = k - 4 trunc(k / 4) in 4 slots; high = trunc(k / 4) in
    # 2**(4 - 1 - 2) = 2 slots, weighted 4.
    high = torch.trunc(k / 4)
    split = solve((k - 4 * high) / 8, 4) + 4 * solve(high / 8, 2)
    p = periphery(m, mv_type="SplitMode", split_mode_bit_shift=2, **common)
    assert torch.allclose(p.run(x, w, "reference").double(), split, rtol=2e-5, atol=2e-6)
    # BitWise: bits 0..3 of |k| (sign kept), two slots each, weighted 2**bit.
    bits = sum(
        2**b * solve(torch.sign(k) * (torch.trunc(k.abs() / 2**b) % 2) / 8, 2) for b in range(4)
    )
    p = periphery(m, mv_type="BitWise", **common)
    assert torch.allclose(p.run(x, w, "reference").double(), bits, rtol=2e-5, atol=2e-6)


# -- physical limits -------------------------------------------------------------------------
@pytest.mark.parametrize("converter", [None, DualPairConductanceConverter(f_lst=(1.0, 3.0))])
def test_no_wire_resistance_gives_the_exact_product(converter):
    # r_s -> 0 with v_read at the idle level 0.4 V: every slot's current is 0.2 sum_j
    # (g+ - g-) over the devices on, so y = W x on the DAC grid, up to float32 rounding
    # (|y - W x| <= 1e-5 (1 + sum |W| |x|)).
    n, m = 64, 6
    w, x = weights((n, m), seed=2), on_grid((5, n), 63, seed=3)
    p = periphery(m, 128, converter, ir_drop=1e-9, ir_drop_v_read=0.4)
    y = p.run(x, w, "reference")
    exact = x.double() @ w.double()
    bound = 1e-5 * (1.0 + x.double().abs() @ w.double().abs())
    assert ((y.double() - exact).abs() <= bound).all()


def test_read_voltage_above_idle_leaks_in_proportion_to_the_read_time():
    # r_s -> 0: each slot adds -(v_read - 0.4) sum_j (g+ + g-) / (0.2 scale) times its
    # width: over the 64 slots of 1/63, -(64/63) (v_read - 0.4)/0.2 sum_j |W_j|.
    n, m = 32, 4
    w, x = weights((n, m), seed=4), on_grid((3, n), 63, seed=5)
    p = periphery(m, 32, ir_drop=1e-9, ir_drop_v_read=0.4005)
    leak = (64 / 63) * (0.0005 / 0.2) * w.double().abs().sum(0)
    expected = x.double() @ w.double() - leak
    assert torch.allclose(p.run(x, w, "reference").double(), expected, rtol=1e-5, atol=1e-5)


def test_more_wire_resistance_lowers_positive_outputs_monotonically():
    n, m = 64, 5
    w, x = weights((n, m), seed=6, positive=True), on_grid((4, n), 63, seed=7, positive=True)
    x[:, 0] = 1.0  # no all-zero row
    exact = x.double() @ w.double()
    previous = exact
    for scale in (1.0, 10.0, 100.0, 1000.0):
        y = periphery(m, 64, ir_drop=scale, ir_drop_v_read=0.4).run(x, w, "reference")
        assert (y.double() < previous).all()
        assert (y > 0).all()
        previous = y.double()
    assert (previous < 0.9 * exact).all()  # a visible drop at the largest resistance


class _PairByMatrices(SinglePairConductanceConverter):
    """One pair, through the conductance matrices (not the one-pair shortcut)."""


@pytest.mark.parametrize("g_min", [0.0, 2.0])
def test_pair_converters_through_their_matrices_agree(g_min):
    # 20 rows on a 32-row tile (padded rows: two devices at g_min), a strong drop.
    w, x = weights((20, 5), seed=18), on_grid((4, 20), 63, seed=19)
    fields = {"ir_drop": 300.0, "ir_drop_segments": 4}
    short = periphery(5, 32, SinglePairConductanceConverter(g_min=g_min), **fields)
    full = periphery(5, 32, _PairByMatrices(g_min=g_min), **fields)
    y = short.run(x, w, "reference")
    assert torch.allclose(full.run(x, w, "reference"), y, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(y, x @ w, atol=0.05)  # the drop is there
    if g_min == 0.0:
        # Two equal pairs, each with half the weight at twice the scale: the same currents.
        dual = periphery(5, 32, DualPairConductanceConverter(), **fields)
        assert torch.allclose(dual.run(x, w, "reference"), y, rtol=1e-5, atol=1e-5)


def test_higher_conductance_drops_more():
    # The wire is the same; larger conductances draw more current through it.
    n, m = 64, 4
    w, x = weights((n, m), seed=8, positive=True), on_grid((3, n), 63, seed=9, positive=True)
    drops = []
    for g_max in (5.0, 25.0, 100.0):
        p = periphery(m, 64, SinglePairConductanceConverter(g_max=g_max), ir_drop=50.0)
        p.io.ir_drop_v_read = 0.4
        drops.append(float((x @ w - p.run(x, w, "reference")).mean()))
    assert 0 < drops[0] < drops[1] < drops[2]


def test_rows_far_from_the_adc_lose_more():
    # Even columns are read at the last row (south ADC), odd ones at the first (north):
    # an input on the row far from a column's ADC reaches it through the whole wire.
    n, m = 64, 2
    w = torch.full((n, m), 0.5)
    first, last = torch.zeros(1, n), torch.zeros(1, n)
    first[0, 0], last[0, -1] = 1.0, 1.0
    p = periphery(m, 64, ir_drop=200.0, ir_drop_v_read=0.4)
    y_first, y_last = p.run(first, w, "reference")[0], p.run(last, w, "reference")[0]
    assert y_first[0] < y_last[0]  # column 0, south ADC: row 0 is far
    assert y_first[1] > y_last[1]  # column 1, north ADC: row 0 is near
    assert torch.allclose(y_first, y_last.flip(0))  # mirror images


def test_padding_centres_the_rows():
    # 8 rows on a 32-row tile sit in rows 12..19: nearer both ends than at the edge of an
    # 8-row tile, so (with the padded devices at g_min = 0) they lose the same current
    # through a longer wire: more drop.
    w, x = weights((8, 2), seed=10, positive=True), on_grid((2, 8), 63, seed=11, positive=True)
    y8 = periphery(2, 8, ir_drop=100.0, ir_drop_segments=8).run(x, w, "reference")
    y32 = periphery(2, 32, ir_drop=100.0, ir_drop_segments=8).run(x, w, "reference")
    assert (y32 < y8).all()


# -- the passes agree where they should ------------------------------------------------------
@pytest.mark.parametrize("mode", ["SplitMode", "BitWise"])
def test_passes_equal_one_pass_without_ir_drop(mode):
    n, m = 40, 6
    w, x = weights((n, m), seed=12), torch.rand(7, n) * 2 - 1
    base = {**QUIET, "inp_res": 1 / 128, "ir_drop": 0.0}
    one = Periphery(IOParametersIRDropT(**base), "forward", m, seed=1)
    other = Periphery(IOParametersIRDropT(**base, mv_type=mode), "forward", m, seed=1)
    for p in (one, other):
        p.is_test = True
    assert torch.allclose(other.run(x, w, "reference"), one.run(x, w, "reference"), atol=1e-5)
    # With the ADC's 9-bit grid each pass rounds: within half a step per pass, weighted.
    adc = {**base, "out_res": 1 / 510, "out_bound": 12.0}
    one = Periphery(IOParametersIRDropT(**adc), "forward", m, seed=1)
    other = Periphery(IOParametersIRDropT(**adc, mv_type=mode), "forward", m, seed=1)
    weights_sum = 1 + 2**3 if mode == "SplitMode" else 2**7 - 1
    step = 24.0 / 510
    diff = (other.run(x, w, "reference") - one.run(x, w, "reference")).abs()
    assert (diff <= step / 2 * (weights_sum + 1) + 1e-5).all()


@pytest.mark.parametrize(
    ("mode", "weights_"), [("SplitMode", (1, 8)), ("BitWise", (1, 2, 4, 8, 16, 32))]
)
def test_each_pass_draws_its_own_adc_noise(mode, weights_):
    # Zero input: each pass's output is its ADC noise n_p, and the sum is sum_p w_p n_p.
    # Independent draws give the variance sigma^2 sum_p w_p^2; one draw shared by the
    # passes would give sigma^2 (sum_p w_p)^2 (65 against 81, 1365 against 3969).
    sigma = 0.1
    fields = {**QUIET, "out_noise": sigma, "ir_drop": 0.0, "mv_type": mode}
    if mode == "SplitMode":
        fields["inp_res"] = 1 / 128
    p = Periphery(IOParametersIRDropT(**fields), "forward", 4000, seed=9)
    y = p.run(torch.zeros(1, 8), torch.zeros(8, 4000), "reference")
    variance = float(y.double().var()) / sigma**2
    expected = sum(w * w for w in weights_)
    assert abs(variance - expected) < 0.1 * expected  # 4000 draws: about 2% spread


def test_split_mode_equals_one_pass_with_ir_drop_at_idle_read_voltage():
    # The slot sum is linear in the pulse counts: low + 2**s high counts the same slots.
    n, m = 32, 4
    w, x = weights((n, m), seed=13), on_grid((5, n), 64, seed=14)
    common = {"inp_res": 1 / 128, "ir_drop": 30.0, "ir_drop_v_read": 0.4}
    one = periphery(m, 32, **common).run(x, w, "reference")
    split = periphery(m, 32, mv_type="SplitMode", **common).run(x, w, "reference")
    assert torch.allclose(split, one, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(one, x @ w, atol=1e-3)  # and the drop is there


# -- where it is off: the normal forward -----------------------------------------------------
def _pair_of_tiles(fields, backend, phys=16):
    w = weights((5, 16), seed=15).contiguous()  # [out, in]
    tiles = []
    for cls in (IOParametersIRDropT, IOParameters):
        extra = {"ir_drop": fields.get("ir_drop", 0.0)} if cls is IOParametersIRDropT else {}
        io = cls(**{k: v for k, v in fields.items() if k != "ir_drop"}, **extra)
        config = TileConfig(forward=io, mapping=MappingParameters(max_input_size=phys))
        tile = InferenceTile(5, 16, config, seed=21)
        tile.set_weights(w)
        tile.backend = backend
        tiles.append(tile)
    return tiles


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("test_mode", [False, True])
def test_zero_ir_drop_is_the_normal_forward(backend, test_mode):
    # Default periphery (noise, 7-bit DAC, 9-bit ADC, abs-max and bound management).
    irdrop, normal = _pair_of_tiles({"ir_drop": 0.0}, backend)
    for tile in (irdrop, normal):
        tile.set_test_mode(test_mode)
    x = torch.randn(9, 16) * 3
    for _ in range(2):
        assert torch.equal(irdrop.forward(x), normal.forward(x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_mode_is_the_normal_forward(backend):
    irdrop, normal = _pair_of_tiles({"ir_drop": 5.0}, backend)
    x = torch.randn(9, 16) * 3
    assert torch.equal(irdrop.forward(x), normal.forward(x))  # not in test mode
    irdrop.set_test_mode(True)
    normal.set_test_mode(True)
    assert not torch.equal(irdrop.forward(x), normal.forward(x))


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs the compiled engine")
@pytest.mark.parametrize("mode", ["OnePass", "SplitMode", "BitWise"])
def test_engines_agree_in_test_mode(mode):
    # The default periphery (noise, DAC and ADC grids, management) around the drop: the
    # compiled stages and their plain-torch twins give the same bits.
    fields = {"mv_type": mode, "ir_drop": 20.0, "inp_res": 1 / 128}
    outputs = []
    for backend in ("native", "reference"):
        config = TileConfig(forward=IOParametersIRDropT(**fields),
                            mapping=MappingParameters(max_input_size=32))  # fmt: skip
        tile = InferenceTile(6, 24, config, seed=8)
        tile.set_weights(weights((6, 24), seed=20))
        tile.backend = backend
        tile.set_test_mode(True)
        x = torch.randn(10, 24, generator=torch.Generator().manual_seed(4)) * 2
        outputs.append(torch.cat([tile.forward(x), tile.forward(x)]))
    assert torch.equal(outputs[0], outputs[1])


def test_noise_and_bound_management_surround_it():
    # Abs-max scales the input into the DAC range and the output back: a scaled input
    # gives the scaled output (the ADC unbounded and exact, no noise; a power of two
    # keeps the DAC's rounding the same).
    w, x = weights((16, 3), seed=16), on_grid((4, 16), 63, seed=17)
    p = periphery(3, 16, ir_drop=20.0, noise_management="AbsMax")
    assert torch.allclose(p.run(x * 8.0, w, "reference"), 8.0 * p.run(x, w, "reference"),
                          rtol=1e-5, atol=1e-5)  # fmt: skip
    assert not torch.allclose(p.run(x, w, "reference"), x @ w, atol=1e-2)  # with the drop
    # An ADC bound of 1 with iterative bound management: the saturated rows are re-run
    # with half the input until none hits the bound; the result is the unbounded one up to
    # the DAC's rounding of the reduced inputs (a reduction r rounds to r / 63 of max|x|).
    p = periphery(3, 16, ir_drop=20.0, ir_drop_v_read=0.4, out_bound=1.0,
                  bound_management="Iterative", noise_management="AbsMax")  # fmt: skip
    y = p.run(x * 4.0, w, "reference")
    assert p.last_passes == 4 and p.last_bound_hits == 0
    unbounded = periphery(3, 16, ir_drop=20.0, ir_drop_v_read=0.4, noise_management="AbsMax")
    unbounded_y = unbounded.run(x * 4.0, w, "reference")
    rounding = 4.0 * 2**3 * (0.5 / 63) * w.abs().sum(0)
    assert ((y - unbounded_y).abs() <= rounding).all()


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ir_drop_segments": 0}, "ir_drop_segments=0 must be an integer >= 1"),
        ({"ir_drop_segments": 2.5}, "ir_drop_segments=2.5"),
        ({"ir_drop_segments": True}, "ir_drop_segments=True"),
        ({"ir_drop_rs": -0.1}, "ir_drop_rs=-0.1 must be >= 0"),
        ({"ir_drop": -1.0}, "ir_drop=-1.0 must be >= 0"),
        ({"ir_drop_v_read": 0.1}, "ir_drop_v_read=0.1 is out of range; allowed: 0.2 < v_read"),
        ({"ir_drop_v_read": 0.6}, "ir_drop_v_read=0.6 is out of range"),
        ({"ir_drop_time_step_resolution_scale": 0.0}, "must be > 0"),
        ({"ir_drop_time_step_resolution_scale": 0.01}, "allowed: >= 0.015625"),
        ({"mv_type": "PosNegSeparate"}, "mv_type='PosNegSeparate' is not supported"),
        ({"mv_type": "SplitMode"}, "inp_res=0.007936507936507936 is not allowed with"),
        ({"mv_type": "SplitMode", "inp_res": 1 / 128, "split_mode_bit_shift": 7},
         "split_mode_bit_shift=7 is out of range for inp_res=0.0078125 (7 bits); allowed: 1 to 6"),
        ({"mv_type": "SplitMode", "inp_res": 1 / 128, "split_mode_bit_shift": 0},
         "allowed: 1 to 6"),
        ({"split_mode_bit_shift": 2.0}, "split_mode_bit_shift=2.0 must be an integer"),
        ({"mv_type": "BitWise", "inp_res": 1 / 127}, "1 / (2 inp_res) must be an integer"),
        ({"mv_type": "BitWise", "inp_noise": 0.01}, "inp_noise=0.01 is not supported with"),
        ({"inp_res": 0.0}, "inp_res=0.0 must be > 0 with the time-dependent IR drop"),
        ({"w_noise": 0.01}, "w_noise=0.01 is not supported"),
        ({"v_offset_std": 0.1}, "v_offset_std=0.1 is not supported"),
        ({"out_nonlinearity": 0.1}, "out_nonlinearity=0.1 is not supported"),
    ],
)  # fmt: skip
def test_bad_parameters_are_named(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        IOParametersIRDropT(**fields)


def test_pulse_modes_need_the_ir_drop_parameters():
    with pytest.raises(ValueError, match="mv_type='SplitMode' needs the time-dependent IR drop"):
        IOParameters(mv_type="SplitMode")
    with pytest.raises(ValueError, match="mv_type='BitWise' needs"):
        IOParameters(mv_type="BitWise")
    IOParametersIRDropT(inp_res=0.0, ir_drop=0.0)  # no pulses needed: allowed


def test_segments_must_divide_the_physical_rows():
    io = IOParametersIRDropT(ir_drop_segments=8)
    config = TileConfig(forward=io, mapping=MappingParameters(max_input_size=100))
    with pytest.raises(ValueError, match="ir_drop_segments=8 does not divide the 100 physical"):
        InferenceTile(3, 100, config)
    config = TileConfig(forward=io, mapping=MappingParameters(max_input_size=0))
    with pytest.raises(ValueError, match="does not divide the 12 physical rows"):
        InferenceTile(3, 12, config)
    InferenceTile(3, 12, TileConfig(forward=IOParametersIRDropT(ir_drop_segments=4),
                                    mapping=MappingParameters(max_input_size=0)))  # fmt: skip


def test_a_rejected_forward_changes_nothing():
    config = TileConfig(forward=IOParametersIRDropT(ir_drop_segments=4),
                        mapping=MappingParameters(max_input_size=16))  # fmt: skip
    tile = InferenceTile(3, 16, config, seed=5)
    tile.set_test_mode(True)
    periphery_ = tile.forward_periphery
    assert periphery_ is not None
    periphery_.io.ir_drop_segments = 5  # now it does not divide the 16 rows
    with pytest.raises(ValueError, match="ir_drop_segments=5 does not divide the 16"):
        tile.forward(torch.ones(2, 16))
    assert periphery_.call_index == 0
    periphery_.ir_drop_converter = object()  # no conductances
    periphery_.io.ir_drop_segments = 4
    with pytest.raises(AttributeError):
        tile.forward(torch.ones(2, 16))
    assert periphery_.call_index == 0


def test_single_device_converter_is_refused():
    from aihw.core.inference.converters_single import SingleDeviceConductanceConverter

    p = periphery(2, 4, SingleDeviceConductanceConverter(g_min=1.0), ir_drop_segments=2)
    with pytest.raises(ValueError, match="gives 1 conductance matrices; the time-dependent"):
        p.run(torch.ones(1, 4), torch.ones(4, 2), "reference")
    assert p.call_index == 0


def test_backward_ir_drop_is_refused():
    with pytest.raises(ValueError, match="backward IO parameters are IOParametersIRDropT"):
        Periphery(IOParametersIRDropT(), "backward", 3, seed=0)
