"""Console accounts: sign-in with a password and an authenticator code (TOTP), recovery codes, the idle
timeout, CSRF and security headers for every console page, roles, and `flask users`."""


def init_app(app) -> None:
    """Sign-in, CSRF and headers for the console; `flask users`."""
