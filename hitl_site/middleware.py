"""Django's middleware that only reads the request and sets headers, run on the event loop under
ASGI.

Under ASGI, Django calls each hook of a `MiddlewareMixin` (`process_request`,
`process_response`) through `sync_to_async`: a hand-off to a thread and back, about fifteen per
request with this project's middleware. For hooks that touch neither the database nor the disk
(CSP's header, the lazy user, the trailing slash) the hand-off costs more than the hook, and the
hundred agents that one batch approval wakes would queue on it. These subclasses call such hooks
directly in async mode; in sync mode (WSGI, the test client) they are Django's own. Sessions and
messages, which may write to the database, keep the hand-off; so do security headers, CSRF and
X-Frame-Options, which Django's deployment checks look for by their own names.
"""

import csp.middleware
import django.contrib.auth.middleware
import django.middleware.clickjacking
import django.middleware.common
import django.middleware.security


class Inline:
    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class CommonMiddleware(Inline, django.middleware.common.CommonMiddleware):
    pass


class AuthenticationMiddleware(Inline, django.contrib.auth.middleware.AuthenticationMiddleware):
    pass  # sets a lazy user; reading it (request.auser) is the view's affair


class CSPMiddleware(Inline, csp.middleware.CSPMiddleware):
    pass


# Only for `hitl_site.long_poll`, whose answers pass through no other middleware: in settings,
# Django's deployment checks look for these by Django's own names.


class SecurityMiddleware(Inline, django.middleware.security.SecurityMiddleware):
    pass


class XFrameOptionsMiddleware(Inline, django.middleware.clickjacking.XFrameOptionsMiddleware):
    pass
