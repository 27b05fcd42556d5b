from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .forms import SignupForm
from .services import default_newsletters, request_subscription


# Sign-up boxes sit on cached public pages, which cannot carry a per-reader CSRF token; a forged
# sign-up only records a pending request that nothing is sent to before the reader confirms.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        request_subscription(
            form.cleaned_data["email"],
            newsletters=default_newsletters(),
            source_url=form.cleaned_data["next"],
        )
        return render(request, "newsletters/signup_done.html", status=200)
    status = 400 if request.method == "POST" else 200
    return render(request, "newsletters/signup.html", {"form": form}, status=status)
