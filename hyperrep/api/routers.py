from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """DRF's router, with the trailing slash optional: `/contacts` and `/contacts/` both
    answer, and neither redirects."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
