"""What a route handler does, read from its code: the check on gateway.api.contract_table.

`reached(fn)` is the handler and, transitively, the gateway functions it calls by a name it can
resolve (`name(...)`, `module.name(...)`, `Class.name(...)`, `self.name(...)` / `cls.name(...)` on its
own class). `raised(fn)` collects the `GatewayError` subclasses of their `raise X(...)` statements;
`reads_header(fn, name)` tells whether one of them reads a request header.
Calls through instances (an adapter, `channels.get(...)`) are not followed: a platform's answers
reach the document through gateway.api.contract's rule for handlers that take `channels`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Iterator
from typing import Any

from gateway.errors import GatewayError

PACKAGE = "gateway."


def reached(fn: Any) -> Iterator[tuple[types.FunctionType, ast.AST]]:
    seen: set[Any] = set()
    todo = [inspect.unwrap(getattr(fn, "__func__", fn))]
    while todo:
        current = todo.pop()
        if current in seen or not isinstance(current, types.FunctionType):
            continue
        seen.add(current)
        if not (current.__module__ or "").startswith(PACKAGE):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(current)))
        except (OSError, TypeError, SyntaxError):
            continue
        yield current, tree
        scope = current.__globals__
        owner = scope.get(current.__qualname__.split(".")[0]) if "." in current.__qualname__ else None
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = _resolve(node.func, scope, owner)
                if isinstance(callee, (staticmethod, classmethod)):
                    callee = callee.__func__
                todo.append(callee)


def raised(fn: Any) -> set[type[GatewayError]]:
    found: set[type[GatewayError]] = set()
    for current, tree in reached(fn):
        scope = current.__globals__
        owner = scope.get(current.__qualname__.split(".")[0]) if "." in current.__qualname__ else None
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                error = _resolve(target, scope, owner)
                if isinstance(error, type) and issubclass(error, GatewayError):
                    found.add(error)
    return found


def reads_header(fn: Any, name: str) -> bool:
    """Whether a reached function reads the request header `name` (`<x>.headers.get("name")`)."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "headers"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value).lower() == name.lower()
        for _, tree in reached(fn)
        for node in ast.walk(tree)
    )


def _resolve(node: ast.expr, scope: dict[str, Any], owner: Any) -> Any:
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        base = node.value.id
        holder = owner if base in ("self", "cls") else scope.get(base)
        if isinstance(holder, type):
            return inspect.getattr_static(holder, node.attr, None)
        if isinstance(holder, types.ModuleType):
            return getattr(holder, node.attr, None)
    return None
