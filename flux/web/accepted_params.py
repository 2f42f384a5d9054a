"""Which query parameters each API read accepts, read once from the OpenAPI schema that documents them
(one source of truth): an unknown parameter — a typo, or `tags.plan` for `tags[plan]` — is then a 400
naming it and what was likely meant, instead of being silently ignored.

In the schema, a `deepObject` parameter such as `tags` accepts `tags[<key>]`, and a parameter whose name
holds `<key>` (`properties.<key>`) accepts any key in its place.
"""

import difflib
import re
import threading
from dataclasses import dataclass

KEY_PLACEHOLDER = "<key>"


@dataclass(frozen=True)
class Accepted:
    names: frozenset[str]
    bracketed: frozenset[str]  # deepObject parameters: "tags" accepts tags[<key>]
    prefixes: frozenset[str]  # "properties." for a parameter named properties.<key>

    def accepts(self, name: str) -> bool:
        if name in self.names:
            return True
        opening, _, key = name.partition("[")
        if opening in self.bracketed and key.endswith("]") and len(key) > 1:
            return True
        return any(name.startswith(prefix) and len(name) > len(prefix) for prefix in self.prefixes)

    def listing(self) -> list[str]:
        forms = [f"{name}[{KEY_PLACEHOLDER}]" for name in self.bracketed] + [
            f"{p}{KEY_PLACEHOLDER}" for p in self.prefixes
        ]
        return sorted(self.names) + sorted(forms)

    def likely_meant(self, name: str) -> str | None:
        """`tags[plan]` for `tags.plan` or `tag[plan]`, `properties.plan` for `properties[plan]`, `period`
        for `perod`."""
        head, dot, rest = name.partition(".")
        if dot and rest and head in self.bracketed:
            return f"{head}[{rest}]"
        if match := re.fullmatch(r"([^\[\]]+)\[(.+)\]", name):
            head, key = match[1], match[2]
            if f"{head}." in self.prefixes:
                return f"{head}.{key}"
            close = difflib.get_close_matches(head, sorted(self.bracketed), n=1, cutoff=0.7)
            if close:
                return f"{close[0]}[{key}]"
        close = difflib.get_close_matches(name, sorted(self.names), n=1, cutoff=0.7)
        return close[0] if close else None


def accepted_from_operation(operation: dict) -> Accepted:
    query = [parameter for parameter in operation.get("parameters", []) if parameter["in"] == "query"]
    return Accepted(
        names=frozenset(
            p["name"] for p in query if p.get("style") != "deepObject" and KEY_PLACEHOLDER not in p["name"]
        ),
        bracketed=frozenset(p["name"] for p in query if p.get("style") == "deepObject"),
        prefixes=frozenset(p["name"].split(KEY_PLACEHOLDER)[0] for p in query if KEY_PLACEHOLDER in p["name"]),
    )


_table: dict[tuple[str, str], Accepted] | None = None
_building = threading.Lock()


def accepted_by_operation() -> dict[tuple[str, str], Accepted]:
    """(schema path, method) → what it accepts; built once per process from the generated schema."""
    global _table
    if _table is None:
        # drf-spectacular's schema generation is not thread-safe: the first requests of a process (pages
        # load several reads at once) must not build it side by side.
        with _building:
            if _table is None:
                _table = build_table()
    return _table


def build_table() -> dict[tuple[str, str], Accepted]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (path, method.upper()): accepted_from_operation(operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def schema_path(route: str) -> str:
    """Django's route `api/v1/metrics/<path:name>/query` as the schema's `/api/v1/metrics/{name}/query`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def unknown_parameter(route: str, method: str, names: list[str]) -> tuple[str, str] | None:
    """The first query parameter this operation does not accept and a message saying so, or None."""
    accepted = accepted_by_operation().get((schema_path(route), "GET" if method == "HEAD" else method))
    if accepted is None:
        return None
    for name in names:
        if not accepted.accepts(name):
            meant = accepted.likely_meant(name)
            hint = f"did you mean {meant}?" if meant else "accepted: " + (", ".join(accepted.listing()) or "none")
            return name, f"Unknown parameter {name}; {hint}"
    return None
