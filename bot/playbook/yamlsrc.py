"""YAML loading that remembers where every value came from.

Mappings and sequences are built as `LineDict` / `LineList`, which carry the 1-based line of the
node and of each key or item, so that every later error can name `path:line`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class LineDict(dict):
    line: int = 0
    key_lines: dict[Any, int]


class LineList(list):
    line: int = 0
    item_lines: list[int]


class YamlSourceError(Exception):
    """A YAML file could not be read; `line` is 1-based (0 when unknown)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(None, None, f"expected a mapping, found {node.id}", node.start_mark)
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                )
            if key in result:
                raise YamlSourceError(
                    key_node.start_mark.line + 1,
                    f"duplicate key '{key}' (first at line {result.key_lines[key]})",
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


# YAML 1.1 reads yes/no/on/off as booleans, so an option `key: no` silently became False.
# Only true/false are booleans here, as in YAML 1.2.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def load_yaml(text: str) -> Any:
    """Parse one YAML document into LineDict/LineList values; raise YamlSourceError on bad input."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except YamlSourceError:
        raise
    except yaml.MarkedYAMLError as exc:
        in_flow = bool(exc.context and "flow" in exc.context)
        # an unclosed {...} or [...] is noticed lines later; the author's mistake is where it opened
        mark = (exc.context_mark if in_flow else None) or exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or str(exc)
        if "<stream end>" in problem:  # something left open: point at the last line with content
            line = max((i for i, text_line in enumerate(text.splitlines(), 1) if text_line.strip()), default=1)
        if exc.context:
            problem = f"{exc.context}: {problem}"
        if in_flow:
            problem += " (put text that contains : ? , # [ ] { } in quotes)"
        raise YamlSourceError(line, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(0, f"YAML error: {exc}") from None


def line_of(root: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node on `loc` (a path of keys and indexes) that we can find."""
    line = getattr(root, "line", 0) or 1
    node = root
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line
