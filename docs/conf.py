"""Sphinx configuration of the aihw documentation."""

import importlib
import inspect

from sphinx.util.nodes import make_refnode

project = "aihw"
author = "the aihw developers"
copyright = "2026, the aihw developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "none"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Every cross-reference must resolve: the docs session builds with -W, so an unresolved
# one fails it.
nitpicky = True
myst_heading_anchors = 3
# $...$ and $$...$$ equations in the physics pages (docs/physics/).
myst_enable_extensions = ["dollarmath"]
suppress_warnings = ["myst.header"]
# Types of other projects (no intersphinx: the build has no network). Each is named where
# a docstring or a base class mentions it.
nitpick_ignore = [
    # the optimizers' private mixin of parameter-group handling (its methods are
    # documented on AnalogSGD and AnalogOptimizer)
    ("py:class", "aihw.optim._tile_groups.TileGroups"),
    ("py:class", "torch.Tensor"),
    ("py:class", "torch.nn.Module"),
    ("py:class", "torch.nn.modules.module.Module"),
    ("py:class", "torch.nn.Sequential"),
    ("py:class", "torch.nn.modules.container.Sequential"),
    ("py:class", "torch.nn.Linear"),
    ("py:class", "torch.nn.Conv1d"),
    ("py:class", "torch.nn.Conv2d"),
    ("py:class", "torch.nn.Conv3d"),
    ("py:class", "torch.nn.LSTM"),
    ("py:class", "torch.nn.GRU"),
    ("py:class", "torch.nn.RNN"),
    ("py:class", "torch.nn.LSTMCell"),
    ("py:class", "torch.nn.GRUCell"),
    ("py:class", "torch.nn.RNNCell"),
    ("py:class", "torch.nn.utils.rnn.PackedSequence"),
    ("py:class", "torch.optim.SGD"),
    ("py:class", "torch.optim.sgd.SGD"),
    ("py:meth", "torch.optim.Optimizer.state_dict"),
    ("py:meth", "torch.optim.Optimizer.load_state_dict"),
    ("py:meth", "torch.optim.Optimizer.zero_grad"),
    ("py:class", "torch.optim.Optimizer"),
    ("py:class", "torch.optim.optimizer.Optimizer"),
    ("py:class", "torch.nn.parallel.DistributedDataParallel"),
    ("py:class", "torch.autocast"),
]


def _plain_attribute_docstring(app, what, name, obj, options, lines):
    """Keep napoleon from reading ``Text: more`` on an attribute's first line as a type.

    Our attribute and property docstrings never name a type there (types come from the
    annotations), but napoleon takes the text before the colon as one and links it.
    """
    if what in ("attribute", "property", "data") and lines:
        lines[:0] = ["..", ""]  # an empty comment: the first line napoleon reads


_PUBLIC_OBJECTS: dict[int, tuple[str, object]] = {}


def _import(path):
    """The object at a dotted path (a module, then attributes), or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _resolve_other_path(app, env, node, contnode):
    """Resolve a reference to an aihw object written with another of its paths.

    One object has several import paths (``aihw.core.AnalogTile``,
    ``aihw.core.tiles.AnalogTile`` and the module that defines it; a method a layer
    inherits from ``AnalogLayerBase``); the API pages document each once. A reference by
    any of its paths links to that entry, found by identity, never by name. A relative
    reference from a class's docstring also finds an attribute of a documented base class.
    """
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    if not _PUBLIC_OBJECTS:
        for name, entry in domain.objects.items():
            obj = None if entry.aliased else _import(name)
            if inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, property):
                _PUBLIC_OBJECTS.setdefault(id(obj), (name, obj))
    target = node["reftarget"].lstrip(".~")
    context = ".".join(filter(None, [node.get("py:module"), node.get("py:class")]))
    paths = [target]
    if not target.startswith("aihw."):
        # as Sphinx searches: in the class, then in the module (names it imports too)
        paths = [f"{context}.{target}", f"{node.get('py:module')}.{target}"]
    names = []
    for path in filter(lambda path: path.startswith("aihw."), paths):
        found = _PUBLIC_OBJECTS.get(id(_import(path)))
        names.append(found[0] if found else None)
    owner = _import(context) if context and not target.startswith("aihw.") else None
    for base in inspect.getmro(owner) if inspect.isclass(owner) else ():
        found = _PUBLIC_OBJECTS.get(id(base))
        names.append(f"{found[0]}.{target}" if found else None)
    for name in filter(None, names):
        entry = domain.objects.get(name)
        if entry is not None:
            return make_refnode(
                app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name
            )
    return None


def setup(app):
    # before napoleon (priority 500) reads the lines
    app.connect("autodoc-process-docstring", _plain_attribute_docstring, priority=400)
    app.connect("missing-reference", _resolve_other_path)
