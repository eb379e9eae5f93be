"""Console accounts: sign-in with a password and an authenticator code (TOTP), recovery codes, the idle
timeout, CSRF and security headers for every console page, roles, and `flask users`."""

from __future__ import annotations

from flask_login import LoginManager

from hotline.accounts.protection import exempt_from_csrf

__all__ = ["exempt_from_csrf", "init_app"]


def init_app(app) -> None:
    """Sign-in, CSRF and headers for the console; `flask users`."""
    from hotline.accounts import admin, cli, identity, navigation, protection, users, views

    login = LoginManager()
    login.init_app(app)
    login.user_loader(identity.load_user)
    login.login_view = "accounts.sign_in"
    login.login_message = None
    protection.init_app(app)
    users.use_cheapest_profile(app.extensions["hotline"].config.testing)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.cli.add_command(cli.users_group)
    app.jinja_env.globals["console_nav"] = navigation.console_nav
    app.jinja_env.globals["console_landing"] = views.landing_or_sign_in
