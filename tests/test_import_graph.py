"""The addon's Python imports form layers: no module imports one that imports it back, and no
folder imports a folder above it (see the Layout block of the README)."""

import ast
import os

from odoo.tests import BaseCase, tagged

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Lowest first: a folder may import its own modules and the folders before it.
LAYERS = ("providers", "engine", "models", "controllers")


def addon_modules(root=ROOT):
    """Dotted name (relative to the addon) -> file, for the addon's Python code."""
    modules = {}
    for folder in LAYERS:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith(".py"):
                module = name[:-3]
                modules[folder if module == "__init__" else f"{folder}.{module}"] = \
                    os.path.join(root, folder, name)
    return modules


def import_edges(modules):
    """(importer, imported) pairs of the addon's own modules, function-level imports included.
    An import of a package's name (``from ..providers import base``) counts as one of that
    module, otherwise of the package's ``__init__``."""
    edges = set()
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            parts = package.split(".") if package else []
            base = parts[:len(parts) - node.level + 1] + (node.module.split(".") if node.module else [])
            base = ".".join(base)
            for alias in node.names:
                target = f"{base}.{alias.name}" if base else alias.name
                target = target if target in modules else base
                if target in modules and target != module:
                    edges.add((module, target))
    return edges


def cycles(modules, edges):
    """Groups of modules importing one another (strongly connected components above one)."""
    graph = {module: {b for a, b in edges if a == module} for module in modules}
    index, low, stack, found = {}, {}, [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def upward(edges):
    """Imports of a folder above the importer's."""
    layer = lambda module: LAYERS.index(module.split(".")[0])  # noqa: E731
    return sorted((a, b) for a, b in edges if layer(b) > layer(a))


@tagged("post_install", "-at_install")
class TestImportGraph(BaseCase):

    def test_layers(self):
        modules = addon_modules()
        self.assertIn("engine.generation", modules)
        # Package __init__ files only re-export their modules: leave them out of the circles.
        edges = {(a, b) for a, b in import_edges(modules) if b not in LAYERS and a not in LAYERS}
        self.assertIn(("engine.generation", "providers.base"), edges, "the parser sees imports")
        self.assertEqual(cycles(modules, edges), [], "import circles")
        self.assertEqual(upward(import_edges(modules)), [], "imports of a folder above")
