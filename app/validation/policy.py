"""Policies as code: versioned documents listing the gates a synthetic release must pass.

A policy is YAML or JSON validated against ``policy.schema.json`` (published next to this
module). It may ``extend`` another policy (``name`` or ``name@version``): the base's gates and
params are inherited, a gate with the same id replaces the inherited one, ``remove_gates``
drops some. :func:`load_policy` resolves the chain into one flat :class:`Policy` whose
``digest`` identifies its exact content, so a verdict can name what it was judged by.

Built-in policies live in ``policies/<name>.yaml`` (the newest version of each) and
``policies/archive/<name>@<version>.yaml`` (every earlier version, unchanged); :func:`builtin_policy`
loads them. A built-in version is immutable like an uploaded one: ``default@1`` always resolves
to the same gates and digest (``policies/digests.json`` pins every one, a test checks it), and a
built-in that extends another names the base's version. Storing uploaded policies (immutable
versions) is the service's job: it passes a ``resolver`` that returns the stored document for a
name and version.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from app.validation.errors import PolicyError
from app.validation.suite import CATALOGUE, SHARED_PARAMS, metric_names

FORMAT_VERSION = 1
COMPARISONS = ("<", "<=", ">", ">=", "==")
BASES = ("estimate", "ci_bound")
Resolver = Callable[[str, int | None], Mapping[str, Any]]


@dataclass(frozen=True)
class Gate:
    """One check: ``value <comparison> threshold`` on a metric, blocking or advisory.

    ``basis`` says which value is compared: ``estimate`` (the metric's point estimate) or
    ``ci_bound``, for metrics that report a confidence interval (``<key>_low``/``<key>_high``):
    the bound nearest to passing, i.e. the lower bound for ``<``/``<=`` and the upper bound for
    ``>``/``>=``. A ``ci_bound`` gate fails only when the metric is beyond its threshold with the
    interval's confidence, not whenever sampling noise pushes one estimate over it.
    """

    id: str
    metric: str
    comparison: str
    threshold: float
    blocking: bool = True
    on_missing: str = "skip"
    description: str = ""
    basis: str = "estimate"

    @property
    def family(self) -> str:
        return self.metric.split(".", 1)[0]

    @property
    def compared_metric(self) -> str:
        """The metric whose value is compared: the metric itself, or its interval bound nearest to passing."""
        if self.basis == "estimate":
            return self.metric
        return self.metric + ("_low" if self.comparison in ("<", "<=") else "_high")

    def passes(self, value: float) -> bool:
        """Whether ``value`` satisfies the gate (``==`` compares with a 1e-12 tolerance)."""
        t = self.threshold
        return {
            "<": value < t,
            "<=": value <= t,
            ">": value > t,
            ">=": value >= t,
            "==": abs(value - t) <= 1e-12,
        }[self.comparison]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "metric": self.metric,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "blocking": self.blocking,
            "on_missing": self.on_missing,
        }
        if self.basis != "estimate":  # absent when default: older documents keep their digest
            out["basis"] = self.basis
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Policy:
    """A resolved policy: flat gate list, params per metric family, optional business terms."""

    name: str
    version: int
    gates: tuple[Gate, ...]
    description: str = ""
    mode: str | None = None
    use_case: str | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    business: Mapping[str, Any] | None = None
    lineage: tuple[str, ...] = ()  # "name@version" of this policy and every base, nearest first

    @property
    def families(self) -> list[str]:
        """Metric families the gates (and business terms) need, in catalogue order."""
        needed = {g.family for g in self.gates}
        if self.business:
            needed |= {self.business["baseline"].split(".")[0], self.business["metric"].split(".")[0]}
        return [f for f in CATALOGUE if f in needed]

    def to_dict(self) -> dict[str, Any]:
        """The flat, resolved document (validates against the schema; no ``extends``)."""
        out: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": self.name, "version": self.version}
        if self.description:
            out["description"] = self.description
        out["mode"] = self.mode
        out["use_case"] = self.use_case
        if self.params:
            out["params"] = copy.deepcopy(dict(self.params))
        if self.business:
            out["business"] = dict(self.business)
        out["gates"] = [g.to_dict() for g in self.gates]
        return out

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON of :meth:`to_dict`: same gates and params, same digest."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def summary(self) -> dict[str, Any]:
        """What a verdict records about the policy it applied."""
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "mode": self.mode,
            "use_case": self.use_case,
            "lineage": list(self.lineage),
        }


@cache
def json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of a policy document."""
    text = resources.files("app.validation").joinpath("policy.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_document(doc: Any) -> None:
    """Raise PolicyError unless ``doc`` is a valid (unresolved) policy document.

    Checks the JSON Schema, then what it cannot express: known metric names, unique gate ids,
    known param families.
    """
    errors = sorted(jsonschema.Draft202012Validator(json_schema()).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise PolicyError(f"invalid policy at {where}: {err.message}")
    known = set(metric_names())
    ids = []
    for i, gate in enumerate(doc.get("gates", ())):
        if gate["metric"] not in known:
            raise PolicyError(f"gate {i}: unknown metric {gate['metric']!r}")
        if gate.get("basis", "estimate") == "ci_bound":
            if gate["comparison"] == "==":
                raise PolicyError(f"gate {i}: basis ci_bound needs a one-sided comparison, not '=='")
            if not {gate["metric"] + "_low", gate["metric"] + "_high"} <= known:
                raise PolicyError(f"gate {i}: {gate['metric']!r} reports no confidence interval for basis ci_bound")
        ids.append(gate.get("id", gate["metric"]))
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PolicyError(f"duplicate gate ids: {', '.join(dupes)}")
    unknown = sorted(set(doc.get("params", {})) - set(CATALOGUE) - set(SHARED_PARAMS))
    if unknown:
        raise PolicyError(f"params for unknown metric families: {', '.join(unknown)}")
    business = doc.get("business")
    if business:
        for key in ("baseline", "metric"):
            if business[key] not in known:
                raise PolicyError(f"business {key}: unknown metric {business[key]!r}")


def parse_document(text: str | bytes) -> dict[str, Any]:
    """Read YAML or JSON text (JSON is YAML) into a mapping; PolicyError if it is neither."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy is not valid YAML/JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PolicyError("a policy document must be a mapping")
    return doc


def load_policy(source: str | Path | Mapping[str, Any] | Policy, *, resolver: Resolver | None = None) -> Policy:
    """A resolved :class:`Policy` from a document, a file, YAML/JSON text or a built-in name.

    Args:
        source: a Policy (returned as is), a mapping, a path to a .yaml/.json file, YAML/JSON
            text, or the name of a built-in policy: ``"default"`` (its newest version) or
            ``"churn@1"`` (that version, archived or current).
        resolver: ``(name, version or None) -> document`` for bases that are not built in;
            it is asked first, built-ins are the fallback.

    Raises:
        PolicyError: invalid document, unknown metric, unknown or cyclic base.
    """
    if isinstance(source, Policy):
        return source
    if isinstance(source, Mapping):
        doc = copy.deepcopy(dict(source))
    elif isinstance(source, Path) or (
        isinstance(source, str) and source.endswith((".yaml", ".yml", ".json")) and Path(source).is_file()
    ):
        doc = parse_document(Path(source).read_text(encoding="utf-8"))
    elif isinstance(source, str) and "\n" not in source and not source.lstrip().startswith("{"):
        name, _, version = source.partition("@")
        return builtin_policy(name, int(version) if version else None)
    else:
        doc = parse_document(source)
    return _resolve(doc, resolver, seen=())


def builtin_names() -> list[str]:
    """Names of the built-in policies."""
    folder = resources.files("app.validation.policies")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_versions(name: str) -> list[int]:
    """Every version of built-in ``name``, oldest first: the archived ones and the current one."""
    if name not in builtin_names():
        raise PolicyError(f"unknown policy {name!r}")
    return sorted({*_archived(name), builtin_document(name)["version"]})


def builtin_document(name: str, version: int | None = None) -> dict[str, Any]:
    """The raw document of a built-in policy, its newest version unless ``version`` is given.

    Earlier versions come from ``policies/archive/<name>@<version>.yaml``. PolicyError if there is
    no such built-in or version.
    """
    if name not in builtin_names():
        raise PolicyError(f"unknown policy {name!r}")
    folder = resources.files("app.validation.policies")
    doc = parse_document(folder.joinpath(f"{name}.yaml").read_text("utf-8"))
    if version is None or doc.get("version") == version:
        return doc
    archived = _archived(name)
    if version not in archived:
        known = ", ".join(str(v) for v in sorted({*archived, doc.get("version")}))
        raise PolicyError(f"built-in policy {name!r} has no version {version} (versions: {known})")
    doc = parse_document(archived[version].read_text("utf-8"))
    if (doc.get("name"), doc.get("version")) != (name, version):
        raise PolicyError(f"archived built-in {name}@{version} names itself {doc.get('name')}@{doc.get('version')}")
    return doc


def _archived(name: str) -> dict[int, Any]:
    """The archived versions of built-in ``name``: version -> resource of its document."""
    folder = resources.files("app.validation.policies").joinpath("archive")
    if not folder.is_dir():
        return {}
    found = {}
    for entry in folder.iterdir():
        stem, at, version = entry.name.removesuffix(".yaml").rpartition("@")
        if entry.name.endswith(".yaml") and at and stem == name and version.isdigit():
            found[int(version)] = entry
    return found


def builtin_policy(name: str, version: int | None = None) -> Policy:
    """A built-in policy at ``version`` (its newest if None), resolved."""
    return _resolve(builtin_document(name, version), None, seen=())


def _resolve(doc: dict[str, Any], resolver: Resolver | None, seen: tuple[str, ...]) -> Policy:
    validate_document(doc)
    key = f"{doc['name']}@{doc['version']}"
    if key in seen:
        raise PolicyError(f"policy inheritance cycle: {' -> '.join((*seen, key))}")
    gates = [_gate(g) for g in doc.get("gates", ())]
    params: dict[str, dict[str, Any]] = {k: dict(v) for k, v in doc.get("params", {}).items()}
    business = doc.get("business")
    lineage: tuple[str, ...] = (key,)
    if "extends" in doc:
        name, _, version = doc["extends"].partition("@")
        base_doc = _lookup(name, int(version) if version else None, resolver)
        base = _resolve(base_doc, resolver, seen=(*seen, key))
        dropped = set(doc.get("remove_gates", ()))
        unknown = dropped - {g.id for g in base.gates}
        if unknown:
            raise PolicyError(f"remove_gates names gates {base.name!r} does not have: {', '.join(sorted(unknown))}")
        own = {g.id: g for g in gates}
        inherited = [own.pop(g.id, g) for g in base.gates if g.id not in dropped]  # overrides keep their place
        gates = inherited + list(own.values())
        merged = {k: dict(v) for k, v in base.params.items()}
        for fam, kw in params.items():
            merged.setdefault(fam, {}).update(kw)
        params = merged
        business = business or base.business
        lineage = (key, *base.lineage)
        doc = {"mode": base.mode, "use_case": base.use_case, "description": base.description, **doc}
    elif doc.get("remove_gates"):
        raise PolicyError("remove_gates needs extends")
    return Policy(
        name=doc["name"],
        version=doc["version"],
        gates=tuple(gates),
        description=doc.get("description", ""),
        mode=doc.get("mode"),
        use_case=doc.get("use_case"),
        params=params,
        business=dict(business) if business else None,
        lineage=lineage,
    )


def _lookup(name: str, version: int | None, resolver: Resolver | None) -> dict[str, Any]:
    if resolver is not None:
        try:
            found = resolver(name, version)
        except LookupError:
            found = None
        if found is not None:
            return copy.deepcopy(dict(found))
    return builtin_document(name, version)


def _gate(doc: Mapping[str, Any]) -> Gate:
    return Gate(
        id=doc.get("id", doc["metric"]),
        metric=doc["metric"],
        comparison=doc["comparison"],
        threshold=float(doc["threshold"]),
        blocking=doc.get("blocking", True),
        on_missing=doc.get("on_missing", "skip"),
        description=doc.get("description", ""),
        basis=doc.get("basis", "estimate"),
    )
