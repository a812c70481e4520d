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


def cycle(request):
    request.session.cycle_key()
    return JsonResponse({"key": request.session.session_key})


urlpatterns = [
    path("visit/", visit),
    path("peek/", peek),
    path("flush/", flush),
    path("cycle/", cycle),
]
