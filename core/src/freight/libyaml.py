"""PyYAML's reading of a metafile: the fallback for the YAML `blockyaml` does not read.

libyaml (PyYAML's C parser) with the YAML 1.2 core schema that DVC's ruamel.yaml uses, so
`yes` stays a string. A module of its own so that PyYAML (~35 ms to import) loads only
when a file needs it: the block YAML DVC writes never does, so neither does `status`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import MetafileError


class Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml loader that resolves plain scalars by the YAML 1.2 core schema."""


Loader.yaml_implicit_resolvers = {}  # drop YAML 1.1's rules (yes/no booleans, octals, ...)

for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))
Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load(data: bytes, where: str) -> Any:
    """Parse YAML `data`; errors name the file `where` and the line."""
    try:
        return yaml.load(data, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise MetafileError(where, f"malformed YAML: {line}{exc.problem}") from None
    except yaml.YAMLError as exc:  # e.g. a control character: its first line says which
        raise MetafileError(where, f"malformed YAML: {exc}".splitlines()[0]) from None
