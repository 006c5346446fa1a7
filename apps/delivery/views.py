"""`GET /l/<link_id>`: a tracked link of a sent email (links.py). No key: the link is in
someone's inbox. The click is counted and answered 302 to the URL stored for that link, and
only to a stored http(s) URL, so the route redirects nowhere else."""

from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from apps.conversations.models import TrackedLink
from hyperrep import ids
from hyperrep.api.exceptions import error_response


@csrf_exempt
def follow_link(request: HttpRequest, link_id: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = error_response(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, HEAD"
        return response
    if not ids.can_be_valid(link_id, "lnk"):
        return error_response(404, "Not found")
    # A link names no organization: its id is unique (minted from the message's random id).
    # An imported id that two organizations share is nobody's to follow.
    links = TrackedLink.objects.unscoped().filter(public_id=link_id)
    found = list(links.values_list("pk", "url")[:2])
    if len(found) != 1 or not found[0][1].lower().startswith(("http://", "https://")):
        return error_response(404, "Not found")
    pk, url = found[0]
    if request.method == "GET":
        TrackedLink.objects.unscoped().filter(pk=pk).update(click_count=F("click_count") + 1)
    return HttpResponseRedirect(url)
