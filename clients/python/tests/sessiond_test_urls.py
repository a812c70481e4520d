"""A few views for the middleware tests of the session engine."""

from django.http import HttpResponse, JsonResponse
from django.urls import path


def visit(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"], "key": request.session.session_key})


def peek(request):
    return JsonResponse({"visits": request.session.get("visits"), "key": request.session.session_key})


def flush(request):
    request.session.flush()
    return HttpResponse("flushed")


def login_as(request, username):
    from django.contrib.auth import get_user_model, login

    login(request, get_user_model().objects.get(username=username))
    return JsonResponse({"key": request.session.session_key})


def logout_view(request):
    from django.contrib.auth import logout

    logout(request)
    request.session["after_logout"] = True  # so a new (anonymous) session is stored
    return JsonResponse({"key": request.session.session_key})


def cycle(request):
    request.session.cycle_key()
    return JsonResponse({"key": request.session.session_key})


urlpatterns = [
    path("visit/", visit),
    path("peek/", peek),
    path("flush/", flush),
    path("cycle/", cycle),
    path("login/<str:username>/", login_as),
    path("logout/", logout_view),
]
