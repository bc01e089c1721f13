"""The caseworker dashboard and governance views: server-rendered GOV.UK pages, role-based and audited.

Public API: `create_app()` (and `app`, built from the environment at import), `accounts.add` for
`upstream users add`. Mounted into the BentoML service at /ui.
"""
__all__ = ["create_app"]


def __getattr__(name):
    if name == "create_app":
        from serving.dashboard.app import create_app

        return create_app
    raise AttributeError(name)
