"""Development sessions: build aihw-core once, test each distribution alone, then together.

The torch requirement every session installs first comes from ``AIHW_TORCH`` (default
``torch==2.13.0``, the CPU build this project's machines keep on disk). A bare ``torch``
would pull a multi-GB CUDA build on a machine without torch.

``AIHW_WERROR`` (default ``ON``) builds the C++ engine, the Python module and the C++
tests with warnings as errors; ``AIHW_WERROR=OFF`` turns that off for a compiler that
warns where the CI compiler does not.

``AIHW_CUDA`` (default ``AUTO``) decides whether the wheel has the CUDA kernels: ``AUTO``
when nvcc is found, ``ON`` requires nvcc, ``OFF`` skips them. The ``cuda_compile`` session
always compiles them (for every GPU architecture of the wheel) and runs the C++ tests of
the CUDA back-end (those that need a GPU skip without one).

pytest, ruff and mypy read their configuration from the root ``pyproject.toml``; every
session runs from this directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"
CORE = PACKAGES / "aihw-core"
WHEELHOUSE = ROOT / "wheelhouse"
TORCH = os.environ.get("AIHW_TORCH", "torch==2.13.0")
WERROR = os.environ.get("AIHW_WERROR", "ON").upper()
CUDA = os.environ.get("AIHW_CUDA", "AUTO").upper()
# Pinned: a new ruff formats differently and a new mypy finds other errors.
RUFF = "ruff==0.17.6"
# aihw-devices' `plot` extra: the sessions that run its plot tests install it.
PLOT = "matplotlib>=3.5"
MYPY = "mypy==2.4.1"

# Each distribution's tests run with aihw-core and only the siblings it declares.
SIBLINGS: dict[str, tuple[str, ...]] = {
    "aihw-core": (),
    "aihw-devices": ("aihw-devices",),
    "aihw-torch": ("aihw-devices", "aihw-torch"),
    "aihw-optim": ("aihw-optim",),
}
ALL = ("aihw-devices", "aihw-torch", "aihw-optim")

nox.options.default_venv_backend = "venv"


class _NoUvProbeNote(logging.Filter):
    """Drop nox's "uv binary not found." note.

    Before creating any session's environment nox probes which optional backends exist,
    uv among them, and logs this note when uv is absent, even with the venv backend chosen
    above. The sessions never use uv, so its absence is not news; every other message of
    nox passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "uv binary not found."


logging.getLogger("nox").addFilter(_NoUvProbeNote())
nox.options.sessions = [
    "lint",
    "mypy",
    "tests_cpp",
    "cuda_compile",
    "sanitizers",
    "tests",
    "integration",
    "example_plugin",
    "demo",
    "docs",
]
# A missing compiled engine must fail the tests, never skip them.
TEST_ENV = {"AIHW_REQUIRE_NATIVE": "1"}


def _werror() -> bool:
    if WERROR not in {"ON", "OFF"}:
        raise ValueError(f"AIHW_WERROR={WERROR!r} is invalid; allowed: ON or OFF")
    return WERROR == "ON"


def _cuda_mode() -> str:
    if CUDA not in {"AUTO", "ON", "OFF"}:
        raise ValueError(f"AIHW_CUDA={CUDA!r} is invalid; allowed: AUTO, ON or OFF")
    return CUDA


def _core_source_hash() -> str:
    """Hash of everything that goes into the aihw-core wheel, to reuse a built wheel."""
    digest = hashlib.sha256()
    # the build options are part of the wheel's identity: a wheel built without
    # warnings as errors proves nothing about warnings
    digest.update(f"AIHW_WERROR={WERROR}\n".encode())
    digest.update(f"AIHW_CUDA={_cuda_mode()}\n".encode())
    for path in sorted(CORE.rglob("*")):
        rel = path.relative_to(CORE)
        skipped = (
            rel.parts[0] in {"build", "tests", "dist"}
            # caches that test runs leave behind (.pytest_cache, __pycache__, ...)
            or any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
            or path.suffix in {".so", ".pyc"}
        )
        if skipped or not path.is_file():
            continue
        digest.update(str(rel).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _core_wheel(session: nox.Session) -> Path:
    """Build the aihw-core wheel once per source state and build options and return it."""
    target = WHEELHOUSE / _core_source_hash()
    wheels = sorted(target.glob("aihw_core-*.whl"))
    if not wheels:
        session.run(
            "python",
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(target),
            f"--config-settings=cmake.define.AIHW_WERROR={'ON' if _werror() else 'OFF'}",
            f"--config-settings=cmake.define.AIHW_CUDA={_cuda_mode()}",
            str(CORE),
        )
        wheels = sorted(target.glob("aihw_core-*.whl"))
    return wheels[-1]


def _install(session: nox.Session, *packages: str, extra: tuple[str, ...] = ()) -> None:
    """Install torch (CPU build), the core wheel and the named sibling packages."""
    session.install(TORCH)
    wheel = _core_wheel(session)
    session.install(f"{wheel}[test]")
    for name in packages:
        session.install(f"{PACKAGES / name}[test]")
    if extra:
        session.install(*extra)


@nox.session
def build(session: nox.Session) -> None:
    """Build the aihw-core wheel into wheelhouse/ (reused by every other session)."""
    session.install(TORCH)
    session.log(f"aihw-core wheel: {_core_wheel(session)}")


@nox.session
def tests_cpp(session: nox.Session) -> None:
    """Build the pure C++ engine with its unit tests and run them with CTest."""
    _build_and_ctest(session, "cpp-tests", cuda=False)  # cuda_compile builds the kernels


@nox.session
def cuda_compile(session: nox.Session) -> None:
    """Compile the CUDA kernels for every architecture of the wheel (nvcc required, no GPU
    needed) with the C++ tests of the CUDA back-end, and run them: the host tests of the
    shared arithmetic always, the kernel tests where a GPU is present."""
    _build_and_ctest(session, "cuda-compile", cuda=True)


def _build_and_ctest(session: nox.Session, build_name: str, *, cuda: bool) -> None:
    """Configure the engine's C++ tests (no Python module) in build/<build_name>, build, run."""
    session.install("cmake>=3.18", "ninja")
    build_dir = ROOT / "build" / build_name
    session.run(
        "cmake",
        "-S",
        str(CORE),
        "-B",
        str(build_dir),
        "-G",
        "Ninja",
        "-DAIHW_BUILD_TESTS=ON",
        "-DAIHW_BUILD_PYTHON=OFF",
        f"-DAIHW_CUDA={'ON' if cuda else 'OFF'}",
        f"-DAIHW_WERROR={'ON' if _werror() else 'OFF'}",
        "-DCMAKE_BUILD_TYPE=Release",
    )
    session.run("cmake", "--build", str(build_dir))
    session.run("ctest", "--test-dir", str(build_dir), "--output-on-failure")


# Any sanitizer finding aborts the run; leaks are checked in the C++ tests only (the
# Python interpreter keeps objects alive until exit by design).
SANITIZE = "address,undefined"
ASAN_OPTIONS = (
    "halt_on_error=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
)
UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1"
# What runs with the sanitized compiled module: every entry point once, then the tests
# that compare the engine with the reference (hypothesis with fewer examples) and train
# from several threads.
SANITIZED_TESTS = (
    "packages/aihw-core/tests/test_core_differential_hypothesis.py",
    "packages/aihw-core/tests/test_core_native_vs_reference.py",
    "packages/aihw-core/tests/test_core_native_laws.py",
    "packages/aihw-core/tests/test_periphery_native_vs_reference.py",
    "packages/aihw-core/tests/test_periphery_shared_pass.py",
    "tests/test_concurrent_training.py",
)


@nox.session
def sanitizers(session: nox.Session) -> None:
    """The engine, its C++ tests and the Python module built with AddressSanitizer and
    UndefinedBehaviorSanitizer; the C++ tests, a smoke run and the differential tests run
    under them.

    One CMake build (``AIHW_SANITIZE``) makes the C++ tests and the module; the module
    replaces the one of the installed aihw-core wheel. Python is not built with the
    sanitizers, so their runtime is preloaded, and libstdc++ with it: ASan's ``__cxa_throw``
    interceptor needs it at start-up, or the first C++ exception (a rejected argument)
    aborts the process.
    """
    _install(session, *ALL, extra=("cmake>=3.18", "ninja", "pybind11>=2.12"))
    build_dir = ROOT / "build" / "sanitizers"
    python = session.run("python", "-c", "import sys; print(sys.executable)", silent=True)
    pybind11_dir = session.run("python", "-m", "pybind11", "--cmakedir", silent=True)
    session.run(
        "cmake",
        "-S",
        str(CORE),
        "-B",
        str(build_dir),
        "-G",
        "Ninja",
        "-DAIHW_BUILD_TESTS=ON",
        "-DAIHW_BUILD_PYTHON=ON",
        "-DAIHW_CUDA=OFF",  # the sanitizers check the CPU engine
        f"-DAIHW_SANITIZE={SANITIZE}",
        f"-DAIHW_WERROR={'ON' if _werror() else 'OFF'}",
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DPython_EXECUTABLE={str(python).strip()}",
        f"-Dpybind11_DIR={str(pybind11_dir).strip()}",
    )
    session.run("cmake", "--build", str(build_dir))
    cpp_env = {"ASAN_OPTIONS": f"{ASAN_OPTIONS}:detect_leaks=1", "UBSAN_OPTIONS": UBSAN_OPTIONS}
    session.run("ctest", "--test-dir", str(build_dir), "--output-on-failure", env=cpp_env)

    site = session.run(
        "python", "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])", silent=True
    )
    session.run("cmake", "--install", str(build_dir), "--prefix", str(site).strip())
    preload = " ".join(_runtime_library(session, build_dir, n) for n in ("libasan", "libstdc++"))
    env = {
        **TEST_ENV,
        "LD_PRELOAD": preload,
        "ASAN_OPTIONS": f"{ASAN_OPTIONS}:detect_leaks=0",
        "UBSAN_OPTIONS": UBSAN_OPTIONS,
        "AIHW_HYPOTHESIS_EXAMPLES": "15",
    }
    session.run("python", str(ROOT / "tools" / "sanitizer_smoke.py"), env=env)
    session.run("pytest", *SANITIZED_TESTS, *session.posargs, env=env)


def _runtime_library(session: nox.Session, build_dir: Path, name: str) -> str:
    """The path of a runtime library of the compiler the CMake build used."""
    cache = (build_dir / "CMakeCache.txt").read_text()
    compiler = next(
        line.split("=", 1)[1]
        for line in cache.splitlines()
        if line.startswith("CMAKE_CXX_COMPILER:")
    )
    path = str(
        session.run(compiler, f"-print-file-name={name}.so", silent=True, external=True)
    ).strip()
    if not Path(path).is_absolute():
        session.error(
            f"{compiler} does not know {name}.so; the sanitizers session needs GCC's "
            "sanitizer runtime (on Debian/Ubuntu: the libasan package of the compiler)"
        )
    return path


@nox.session
@nox.parametrize("package", [nox.param(name, id=name.removeprefix("aihw-")) for name in SIBLINGS])
def tests(session: nox.Session, package: str) -> None:
    """One distribution's tests, with aihw-core and only its declared sibling packages.

    aihw-devices' tests include its ``plot`` command: that session installs the ``plot``
    extra (matplotlib) and sets ``AIHW_REQUIRE_PLOT``, which makes the plot tests fail
    rather than skip without it.
    """
    env = dict(TEST_ENV)
    extra: tuple[str, ...] = ()
    if package == "aihw-devices":
        extra, env["AIHW_REQUIRE_PLOT"] = (PLOT,), "1"
    _install(session, *SIBLINGS[package], extra=extra)
    session.run("pytest", str(PACKAGES / package / "tests"), *session.posargs, env=env)


@nox.session
def integration(session: nox.Session) -> None:
    """The four distributions together: seed guide snippets, training, plugins (tests/).

    The plugin tests (tests/test_plugins_*.py) install the example plugin
    (examples/aihw-device-example) and the broken fixtures (tests/plugins/) into fresh
    venvs layered over this session's environment, which therefore needs setuptools and
    pip for the --no-build-isolation builds.
    """
    _install(session, *ALL, extra=("pytest>=7", "scikit-learn>=1.2", "tqdm>=4", "setuptools>=68"))
    # Tests that need two distributions (layers trained through AnalogSGD: tests/layers/)
    # live here, so each distribution's own tests need only its declared dependencies.
    session.run("pytest", str(ROOT / "tests"), *session.posargs, env=TEST_ENV)


@nox.session
def example_plugin(session: nox.Session) -> None:
    """The example device plugin's own test suite, with the plugin installed."""
    _install(session, *ALL, extra=("pytest>=7",))
    session.install(str(ROOT / "examples" / "aihw-device-example"))
    session.run(
        "pytest",
        str(ROOT / "examples" / "aihw-device-example" / "tests"),
        *session.posargs,
        env=TEST_ENV,
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Train a small analog MLP on scikit-learn's handwritten digits."""
    _install(session, *ALL, extra=("scikit-learn>=1.2", "tqdm>=4"))
    session.run("python", str(ROOT / "examples" / "train_digits.py"), *session.posargs)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Print the benchmark tables (never part of the test run)."""
    _install(session, *ALL, extra=("scikit-learn>=1.2",))  # preset_lr.py trains on digits
    # forward.py, memory.py, preset_lr.py, train_step.py, update.py, ...; _*.py are helpers.
    for script in sorted((ROOT / "benchmarks").glob("[!_]*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    session.install(RUFF)
    session.run("ruff", "check", str(ROOT))
    session.run("ruff", "format", "--check", str(ROOT))


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx documentation with warnings as errors."""
    _install(session, *ALL, extra=("sphinx>=7", "myst-parser>=2"))
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        str(ROOT / "docs"),
        str(ROOT / "docs" / "_build" / "html"),
    )


@nox.session
def mypy(session: nox.Session) -> None:
    """mypy --strict over the four src/ trees (the root pyproject.toml names them).

    The four distributions are installed for their dependencies' types (torch, numpy,
    pluggy; matplotlib for the plot command); mypy reads the sources under packages/.
    """
    _install(session, *ALL, extra=(MYPY, PLOT))
    session.run("mypy", *session.posargs)
