"""Every console page is guarded: a view under /console/ either names the roles that may open it
(`roles_required`) or is one of the few pages a signed-out person must reach (sign-in and its steps)."""

from __future__ import annotations

import pytest

from hotline.core.viewer import ROLES

# Reached before sign-in is complete: the password page, the second factor and its first set-up.
OPEN_ENDPOINTS = frozenset({
    "accounts.sign_in",
    "accounts.two_factor_step",
    "accounts.setup",
    "accounts.sign_out",
})


def console_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/console")]


def test_every_console_view_names_its_roles_or_is_part_of_signing_in(app):
    rules = console_rules(app)
    assert rules, "the console has no pages"
    unguarded = []
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "roles", None)
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        if not roles:
            unguarded.append(rule.rule)
        else:
            assert set(roles) <= set(ROLES), (rule.rule, roles)
    assert not unguarded, f"console pages without roles_required: {unguarded}"


@pytest.mark.parametrize("method", ["get"])
def test_signed_out_every_guarded_console_page_sends_to_sign_in_and_shows_nothing(app, client, method):
    for rule in console_rules(app):
        if rule.endpoint in OPEN_ENDPOINTS or "GET" not in rule.methods:
            continue
        url = rule.build(dict.fromkeys(rule.arguments, 1), append_unknown=False)[1]
        response = getattr(client, method)(url)
        assert response.status_code in (302, 401), (url, response.status_code)
        if response.status_code == 302:
            assert "/console/sign-in" in response.headers["Location"], url
