"""Built-in policies are immutable per version, like uploaded ones: ``default@1`` means the same
gates (the same digest) forever. ``app/validation/policies/digests.json`` pins the resolved digest
of every built-in ``name@version``; these tests fail when a built-in's content changes without a
new version, when a version disappears, or when a new version has no recorded digest."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from app.validation import PolicyError, builtin_names, builtin_policy, load_policy
from app.validation.policy import builtin_document, builtin_versions

POLICIES = "app/validation/policies"
HOW_TO_CHANGE = (
    f"A released built-in version never changes: jobs recorded its name, version and digest. To change a built-in,"
    f" copy the released {POLICIES}/<name>.yaml unchanged to {POLICIES}/archive/<name>@<old version>.yaml (restore it"
    f" with `git show HEAD:{POLICIES}/<name>.yaml` if you already edited it), raise `version` in <name>.yaml, pin"
    f" `extends` to a versioned base (`extends: default@<n>`), and add the new '<name>@<version>' with its digest to"
    f" {POLICIES}/digests.json. A built-in that should follow a new base version gets a new version of its own,"
    f" pinned to it. Never edit a digest already recorded there."
)

# What jobs recorded for the built-ins before the confidence-bound calibration (commit 89b94da), computed
# with the code of 89b94da~1. Historical facts: they must never change, whatever digests.json says.
RECORDED_BEFORE_CALIBRATION = {
    "churn@1": "0b3b9fb893043aff72a9f6a0d6643474b3351e0cc564d0aec709f5e3a9e05abb",
    "default@1": "8f5358e0d0841ca311940b4344968ff417e20fcfca0b119ca5aedf02d99542f5",
    "dev-only@1": "37e3bda08c70bdfcfbf93cc9be0371c7317f1332f2673b85f4e6ad4bf4c285cf",
    "hybrid-split@1": "6acb5ca71a8ece02a19e09567dbfcf45cc762728affa393f23785e74138860b9",
    "personalization@1": "efa1407bdd108a07e8ab2b54a061abe5ac03ec622bbc668d7fd8fd9fc103f0d2",
    "production-substitute@1": "6811de54b51e23dd81a1052112e3381221feeee43cecbe6ab48bb06a4d0b14db",
}


def recorded() -> dict[str, str]:
    return json.loads(resources.files("app.validation.policies").joinpath("digests.json").read_text("utf-8"))


def shipped() -> dict[str, str]:
    """Every built-in name@version the code resolves, with its digest."""
    return {f"{n}@{v}": builtin_policy(n, v).digest for n in builtin_names() for v in builtin_versions(n)}


def test_every_builtin_version_keeps_its_recorded_digest():
    pinned, actual = recorded(), shipped()
    changed = sorted(k for k in pinned.keys() & actual.keys() if pinned[k] != actual[k])
    assert not changed, (
        f"built-in policy content changed without a new version: {', '.join(changed)} now resolve(s) to other gates"
        f" than the digest recorded in {POLICIES}/digests.json (a base's change counts: it changes every built-in"
        f" that extends it). {HOW_TO_CHANGE}"
    )
    gone = sorted(pinned.keys() - actual.keys())
    assert not gone, (
        f"built-in version(s) {', '.join(gone)} no longer resolve: jobs that recorded them could not be re-judged."
        f" Restore {POLICIES}/archive/<name>@<version>.yaml from git history. {HOW_TO_CHANGE}"
    )
    new = sorted(actual.keys() - pinned.keys())
    assert not new, (
        f"built-in version(s) without a recorded digest: {', '.join(new)}. If this is a deliberate new version, add to"
        f" {POLICIES}/digests.json: " + ", ".join(f'"{k}": "{actual[k]}"' for k in new) + f". {HOW_TO_CHANGE}"
    )


def test_versions_before_the_calibration_keep_the_digests_jobs_recorded():
    assert {k: recorded()[k] for k in RECORDED_BEFORE_CALIBRATION} == RECORDED_BEFORE_CALIBRATION
    assert {k: shipped()[k] for k in RECORDED_BEFORE_CALIBRATION} == RECORDED_BEFORE_CALIBRATION


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_extend_a_pinned_base_version(name):
    """An unpinned `extends` lets a new base version silently change what this version means."""
    for version in builtin_versions(name):
        doc = builtin_document(name, version)
        assert doc["version"] == version and doc["name"] == name
        if "extends" in doc:
            base, at, base_version = doc["extends"].partition("@")
            assert at and base_version.isdigit(), (
                f"built-in {name}@{version} extends {doc['extends']!r}: pin it to a version, e.g. '{base}@<n>'"
            )


def test_the_current_file_is_the_newest_version_and_not_archived_too():
    archive = resources.files("app.validation.policies").joinpath("archive")
    archived = [p.name for p in archive.iterdir() if p.name.endswith(".yaml")]
    for name in builtin_names():
        newest = builtin_document(name)["version"]
        assert builtin_versions(name)[-1] == newest, f"{POLICIES}/{name}.yaml must hold the newest version of {name}"
        assert f"{name}@{newest}.yaml" not in archived, f"{name}@{newest} is both current and archived"
    names = set(builtin_names())
    assert all(f.removesuffix(".yaml").rpartition("@")[0] in names for f in archived), archived


def test_archived_versions_resolve_with_their_own_gates():
    v1, v2 = load_policy("default@1"), load_policy("default@2")
    assert builtin_policy("default") == v2 == load_policy("default")
    assert builtin_policy("default", 1) == v1 and v1.version == 1 and v1.lineage == ("default@1",)
    gates1, gates2 = {g.id: g for g in v1.gates}, {g.id: g for g in v2.gates}
    # v1 judged the point estimate of the membership attack, v2 its confidence bound
    assert gates1["membership.auc"].basis == "estimate" and gates2["membership.auc"].basis == "ci_bound"
    assert "singling_out" not in v1.params and v2.params["singling_out"] == {"level": 0.99}
    dev1 = load_policy("dev-only@1")
    assert dev1.lineage == ("dev-only@1", "default@1") and dev1.mode == "dev-only"
    assert {g.id: g for g in dev1.gates}["membership.auc"].basis == "estimate"
    assert load_policy("dev-only").lineage == ("dev-only@2", "default@2")


def test_an_upload_may_extend_an_archived_builtin():
    child = load_policy({"name": "team", "version": 1, "extends": "dev-only@1", "gates": []})
    assert child.lineage == ("team@1", "dev-only@1", "default@1")
    assert [g.to_dict() for g in child.gates] == [g.to_dict() for g in load_policy("dev-only@1").gates]


def test_unknown_builtin_versions_are_refused():
    with pytest.raises(PolicyError, match=r"no version 9 \(versions: 1, 2\)"):
        builtin_document("default", 9)
    with pytest.raises(PolicyError, match="no version 9"):
        load_policy("churn@9")
    with pytest.raises(PolicyError, match="unknown policy"):
        builtin_versions("nope")
