"""Directory groups -> Guichet role, groups and establishments (pure rules)."""

import pytest

from server.domain.directory import (
    ad_account_disabled,
    common_name,
    parse_group_rules,
    profile_for,
)
from server.domain.vocabulary import Role

RULES = parse_group_rules(
    {
        "CN=Desk-N1,OU=Groups,DC=chu,DC=example": {"role": "technician", "groups": ["N1"]},
        "desk-sup": {"role": "supervisor", "establishments": ["chu", "ANX"]},
        "/guichet/admins": {"role": "admin"},
        "chu-staff": {"establishments": ["CHU"]},
    }
)


def test_highest_role_wins_and_groups_and_establishments_add_up() -> None:
    profile = profile_for(
        ["cn=desk-n1,ou=groups,dc=chu,dc=example", "cn=Desk-Sup,ou=x", "chu-staff"],
        RULES,
        Role.REQUESTER,
    )
    assert profile.role is Role.SUPERVISOR
    assert profile.group_names == ("N1",)
    assert profile.establishment_codes == ("CHU", "ANX")


def test_oidc_group_names_match_as_they_are() -> None:
    assert profile_for(["/guichet/admins"], RULES, Role.REQUESTER).role is Role.ADMIN


def test_no_matching_group_gives_the_default_role() -> None:
    profile = profile_for(["cn=cafeteria,ou=groups"], RULES, Role.REQUESTER)
    assert (profile.role, profile.group_names, profile.establishment_codes) == (
        Role.REQUESTER,
        (),
        (),
    )


def test_common_name_of_a_dn_and_of_a_plain_name() -> None:
    assert common_name("CN=Desk N1,OU=Groups,DC=x") == "desk n1"
    assert common_name("desk-n1") == "desk-n1"


@pytest.mark.parametrize("bad", [{"x": {"role": "wizard"}}, {"x": {"colour": "red"}}, {"x": 3}])
def test_unknown_roles_and_keys_are_configuration_errors(bad: dict) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the group
        parse_group_rules(bad)


@pytest.mark.parametrize(
    ("value", "disabled"),
    [
        (512, False),
        ("514", True),
        (["66050"], True),
        (["66048"], False),
        (None, False),
        ("x", False),
    ],
)
def test_active_directory_disabled_flag(value: object, disabled: bool) -> None:
    assert ad_account_disabled(value) is disabled
