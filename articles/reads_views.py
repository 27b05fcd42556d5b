"""The reads beacon, and the "Most read" / "Trending now" rails it feeds (`articles.reads`)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from newsroom.cache import public_page, tag_response

from . import reads, surrogates
from .models import Section

RAILS_MAX_AGE = 60  # a ranking is made again at most once a minute


@csrf_exempt  # no cookie is read or set: there is no session to forge a request with
@require_POST
def beacon(request):
    """One read of a story: `id` (the story), `from` (the page's `document.referrer`), `nl` (1
    when the page was opened from a newsletter), in the address (as the page sends them, so
    that nginx can answer the beacon itself) or in a form body. Always 204, counted or not: a
    page learns nothing from it."""
    fields = request.GET if "id" in request.GET else request.POST
    if reads.is_countable(request.headers):
        try:
            story = int(fields.get("id", ""))
        except ValueError:
            story = None
        if story is not None:
            came_from = fields.get("from", "")[:500]
            reads.record(story, reads.kind_of(came_from, fields.get("nl") == "1"))
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


@public_page(max_age=RAILS_MAX_AGE)
def rails(request):
    """The two rails as an HTML fragment the page puts in place (`static/js/reads.js`), for the
    whole site or a section (`?section=slug`). Tagged with the stories it shows, so one that is
    withdrawn or changes leaves it at once."""
    section = Section.objects.filter(slug=request.GET.get("section", "")).first()
    section_id = section.pk if section else None
    most = reads.rail("most", section_id=section_id)
    trending = [s for s in reads.rail("trending", section_id=section_id) if s not in most[:3]]
    response = render(
        request, "articles/reads_rails.html", {"most": most, "trending": trending[:5]}
    )
    response.public_page_edge_max_age = RAILS_MAX_AGE
    return tag_response(response, {surrogates.story(s.pk) for s in [*most, *trending]})
