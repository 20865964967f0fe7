"""Sphinx configuration of the aihw documentation."""

project = "aihw"
author = "the aihw developers"
copyright = "2026, the aihw developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
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
# No network while building: cross-links to torch's docs are written as plain links.
intersphinx_mapping: dict = {}
myst_heading_anchors = 3
# $...$ and $$...$$ equations in the physics pages (docs/physics/).
myst_enable_extensions = ["dollarmath"]
suppress_warnings = ["myst.header"]
