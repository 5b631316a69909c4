"""The CLI's `name (os:user)` audit actor is the typed name for the four-eyes rule."""

from __future__ import annotations

from services.cli_identity import signed
from versions.approvals import same_person


def test_a_signed_name_is_the_same_person_as_the_typed_name() -> None:
    assert signed("李经理", "alice") == "李经理 (os:alice)"
    assert same_person(signed("小王", "bob"), "小王")
    assert same_person(signed("小王", "bob"), signed("小王", "carol"))


def test_a_signature_does_not_make_two_people_one() -> None:
    assert not same_person(signed("李经理", "alice"), "小王")
    assert not same_person("小王 (os:alice) 的同事", "小王")
