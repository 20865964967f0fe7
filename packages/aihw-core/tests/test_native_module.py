"""The compiled module aihw.core._core: how it links, and its entry points."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

import aihw.core._core as core  # a missing engine must fail, never skip

FORBIDDEN = ("libtorch", "libc10", "libtorch_python", "libtorch_cpu")


def _needed_with_readelf(path: Path) -> list[str] | None:
    readelf = shutil.which("readelf")
    if readelf is None:
        return None
    out = subprocess.run(
        [readelf, "-d", str(path)], check=True, capture_output=True, text=True
    ).stdout
    needed = []
    for line in out.splitlines():
        if "(NEEDED)" in line and "[" in line:
            needed.append(line.split("[", 1)[1].split("]", 1)[0])
    return needed


def _needed_from_elf(path: Path) -> list[str]:
    """DT_NEEDED entries of a 64- or 32-bit ELF file, read without external tools."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF", f"{path} is not an ELF file"
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    if is64:
        (e_shoff,) = struct.unpack_from(endian + "Q", data, 0x28)
        e_shentsize, e_shnum = struct.unpack_from(endian + "HH", data, 0x3A)
    else:
        (e_shoff,) = struct.unpack_from(endian + "I", data, 0x20)
        e_shentsize, e_shnum = struct.unpack_from(endian + "HH", data, 0x2E)
    sections = []
    for k in range(e_shnum):
        off = e_shoff + k * e_shentsize
        if is64:
            _name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link = struct.unpack_from(
                endian + "IIQQQQI", data, off
            )
        else:
            _name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link = struct.unpack_from(
                endian + "IIIIIII", data, off
            )
        sections.append((sh_type, sh_offset, sh_size, sh_link))
    needed = []
    SHT_DYNAMIC, DT_NEEDED = 6, 1
    entry = struct.Struct(endian + ("qQ" if is64 else "iI"))
    for sh_type, sh_offset, sh_size, sh_link in sections:
        if sh_type != SHT_DYNAMIC:
            continue
        strtab_offset = sections[sh_link][1]
        for pos in range(sh_offset, sh_offset + sh_size, entry.size):
            tag, value = entry.unpack_from(data, pos)
            if tag == 0:
                break
            if tag == DT_NEEDED:
                start = strtab_offset + value
                end = data.index(b"\0", start)
                needed.append(data[start:end].decode())
    return needed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF check (Linux only)")
def test_module_does_not_link_torch() -> None:
    path = Path(core.__file__)
    parsed = _needed_from_elf(path)
    assert any(name.startswith("libc.so") or name.startswith("libstdc++") for name in parsed)
    from_readelf = _needed_with_readelf(path)
    if from_readelf is not None:
        assert sorted(from_readelf) == sorted(parsed)
    for name in parsed:
        assert not name.startswith(FORBIDDEN), f"{path.name} links {name}"


@pytest.mark.parametrize(
    ("counter", "key", "expected"),
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((2**32 - 1,) * 4, (2**32 - 1,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(counter, key, expected) -> None:
    assert core.philox4x32_10(counter, key) == expected


def test_philox_rejects_bad_words() -> None:
    with pytest.raises(ValueError, match="counter"):
        core.philox4x32_10((0, 0, 0), (0, 0))
    with pytest.raises(ValueError, match="key"):
        core.philox4x32_10((0, 0, 0, 0), (0, 2**32))


def test_normals_from_block_is_box_muller() -> None:
    import math

    words = (123, 4567, 2**31, 2**30)
    z = core.normals_from_block(words)

    def pair(ra: int, rb: int) -> tuple[float, float]:
        rho = math.sqrt(-2.0 * math.log((ra + 1) * 2.0**-32))
        theta = 2.0 * math.pi * rb * 2.0**-32
        return rho * math.cos(theta), rho * math.sin(theta)

    expected = pair(*words[:2]) + pair(*words[2:])
    assert z == pytest.approx(expected, rel=1e-15, abs=1e-300)


def _tile(d_size: int = 6, x_size: int = 5, batch: int = 3):
    gen = torch.Generator().manual_seed(0)
    weights = torch.zeros(d_size, x_size)
    arrays = [
        torch.full((d_size, x_size), 0.01),
        torch.full((d_size, x_size), 0.01),
        torch.full((d_size, x_size), -0.6),
        torch.full((d_size, x_size), 0.6),
    ]
    x = torch.rand(batch, x_size, generator=gen) * 2 - 1
    d = torch.randn(batch, d_size, generator=gen)
    return weights, arrays, x, d


def _call(weights, arrays, x, d, *, law=1, scalars=(0.3,), num_threads=1, **kw):
    args = dict(
        lr=0.1,
        granularity=0.01,
        desired_bl=31,
        fixed_bl=True,
        update_management=True,
        update_bl_management=True,
        um_grad_scale=1.0,
        res=0.0,
        sto_round=False,
        seed=5,
        update_index=0,
    )
    args.update(kw)
    seed, update_index = args.pop("seed"), args.pop("update_index")
    return core.pulsed_update_cpu(
        core.PulsedUpdateConfig(**args),
        weights.data_ptr(),
        weights.shape[0],
        weights.shape[1],
        x.data_ptr(),
        d.data_ptr(),
        x.shape[0],
        law,
        [a.data_ptr() for a in arrays],
        list(scalars),
        seed,
        update_index,
        num_threads,
    )


def test_pulsed_update_runs_and_is_thread_independent() -> None:
    w1, arrays, x, d = _tile()
    w2 = w1.clone()
    n1 = _call(w1, arrays, x, d, num_threads=1)
    n2 = _call(w2, arrays, x, d, num_threads=2)
    assert n1 == n2 > 0
    assert torch.equal(w1, w2)
    assert not torch.equal(w1, torch.zeros_like(w1))


@pytest.mark.parametrize("law", [0, 7, 99, -1])
def test_bad_law_raises_value_error(law: int) -> None:
    weights, arrays, x, d = _tile()
    before = weights.clone()
    with pytest.raises(ValueError, match="step law"):
        _call(weights, arrays, x, d, law=law)
    assert torch.equal(weights, before)


def test_bad_arguments_raise_value_error() -> None:
    weights, arrays, x, d = _tile()
    with pytest.raises(ValueError, match="parameter arrays"):
        _call(weights, arrays[:3], x, d)
    with pytest.raises(ValueError, match="scalars"):
        _call(weights, arrays, x, d, scalars=())
    with pytest.raises(ValueError, match="null pointer"):
        core.pulsed_update_cpu(
            core.PulsedUpdateConfig(0.1, 0.01, 31, True, True, True, 1.0, 0.0, False),
            0,
            6,
            5,
            x.data_ptr(),
            d.data_ptr(),
            3,
            1,
            [a.data_ptr() for a in arrays],
            [0.3],
            5,
            0,
            1,
        )
    with pytest.raises(ValueError, match="seed"):
        _call(weights, arrays, x, d, seed=2**64)
    with pytest.raises(ValueError, match="update_index"):
        _call(weights, arrays, x, d, update_index=-1)
    with pytest.raises(ValueError, match="granularity"):
        _call(weights, arrays, x, d, granularity=0.0)


def test_engine_errors_become_value_errors() -> None:
    """Raised by the engine itself, after the GIL is released; nothing is changed."""
    weights, arrays, x, d = _tile()
    before = weights.clone()
    with pytest.raises(ValueError, match="pulse train"):
        _call(  # BL = lr / granularity = 1e10 slots
            weights,
            arrays,
            x,
            d,
            lr=100.0,
            granularity=1e-8,
            fixed_bl=False,
            update_management=False,
            update_bl_management=False,
        )
    with pytest.raises(ValueError, match="lr"):
        _call(weights, arrays, x, d, lr=-0.1)
    assert torch.equal(weights, before)


def test_stubs_list_every_function() -> None:
    """_core.pyi mirrors the compiled module: the same public functions and classes."""
    import ast

    stub = Path(__file__).parents[1] / "src" / "aihw" / "core" / "_core.pyi"
    if not stub.is_file():  # an installed wheel ships the stub next to the module
        stub = Path(core.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    kinds = (ast.FunctionDef, ast.ClassDef)
    in_stub = {node.name for node in tree.body if isinstance(node, kinds)}
    in_module = {
        name for name in dir(core) if not name.startswith("_") and callable(getattr(core, name))
    }
    # the CUDA entry points exist only in a build with the CUDA kernels
    cuda_only = {name for name in in_stub if name.endswith("_cuda")}
    if core.cuda_compiled():
        assert in_stub == in_module
    else:
        assert in_stub - cuda_only == in_module


def test_law_info_and_threads() -> None:
    assert core.law_info(1) == ("constant_step", 4, 1)
    assert core.law_info(0) is None
    assert core.hardware_threads() >= 1
    # AIHW_CUDA=ON (CI) requires the kernels in the build, OFF forbids them
    wanted = os.environ.get("AIHW_CUDA", "AUTO").upper()
    if wanted in {"ON", "OFF"}:
        assert core.cuda_compiled() is (wanted == "ON")
    if not core.cuda_compiled():
        assert core.cuda_device_count() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_thread_pool_survives_fork() -> None:
    """A forked child (e.g. a DataLoader worker) gets its own pool instead of deadlocking."""
    w1, arrays, x, d = _tile(200, 300, 16)
    _call(w1, arrays, x, d, num_threads=2, lr=0.5)  # the parent's pool now has workers
    w2, arrays2, x2, d2 = _tile(200, 300, 16)
    expected = w2.clone()
    n_expected = _call(expected, arrays2, x2, d2, num_threads=1, lr=0.5)
    expected_bytes = expected.numpy().tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded ... fork()"
        pid = os.fork()
    if pid == 0:  # child: must finish, with the same result (no torch ops here: torch's
        code = 1  # own OpenMP pool is not usable after a fork)
        try:
            n = _call(w2, arrays2, x2, d2, num_threads=2, lr=0.5)
            code = 0 if n == n_expected and w2.numpy().tobytes() == expected_bytes else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in pulsed_update_cpu")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


_POOL_SCRIPT = """
import hashlib, sys, torch
import aihw.core._core as core
sys.path.insert(0, sys.argv[1])
from test_native_module import _call, _tile
w, arrays, x, d = _tile(200, 300, 16)
n = _call(w, arrays, x, d, num_threads=2, lr=0.5)
print(core.engine_pool(), n, hashlib.sha256(w.numpy().tobytes()).hexdigest())
"""


def _pool_run(env_pool: str | None) -> list[str]:
    env = dict(os.environ)
    env.pop("AIHW_ENGINE_POOL", None)
    if env_pool is not None:
        env["AIHW_ENGINE_POOL"] = env_pool
    here = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", _POOL_SCRIPT, here], env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="looks up OpenMP on Linux")
def test_engine_runs_on_torchs_openmp_team_with_the_same_results() -> None:
    """With torch's OpenMP runtime loaded the engine's loops use its team; AIHW_ENGINE_POOL=
    own keeps them on the engine's workers; the weights are the same bits either way."""
    maps = Path("/proc/self/maps").read_text()
    openmp = _pool_run(None)
    own = _pool_run("own")
    if "omp" in maps:  # torch brought an OpenMP runtime
        assert openmp[0] == "openmp"
    assert own[0] == "own"
    assert openmp[1:] == own[1:]
