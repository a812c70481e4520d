"""The example's views: plain HttpResponses, no templates."""

from html import escape

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from sessiond.django import get_client


def _page(request, body):
    token = get_token(request)
    if request.user.is_authenticated:
        who = f"Logged in as <b>{escape(request.user.get_username())}</b>."
        forms = (
            f'<form method="post" action="/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            '<button>Log out</button></form>'
            f'<form method="post" action="/logout-others/"><input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            '<button>Log out my other devices</button></form>'
            '<p><a href="/devices/">Your devices</a></p>'
        )
    else:
        who = 'Not logged in. <a href="/login/">Log in</a>.'
        forms = ""
    return HttpResponse(f"<!doctype html><title>sessiond example</title><p>{who}</p>{body}{forms}")


def index(request):
    """Counts this session's visits; the counter lives in sessiond."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    return _page(request, f'<p>Visits in this session: <span id="visits">{request.session["visits"]}</span></p>')


def login_view(request):
    error = ""
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
        if user is not None:
            login(request, user)  # cycles the session key: POST /v1/sessions/{id}/cycle
            return redirect("index")
        error = "<p>Wrong username or password.</p>"
    token = get_token(request)
    return HttpResponse(
        "<!doctype html><title>Log in</title>" + error
        + f'<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        '<input name="username" placeholder="username"> <input name="password" type="password" placeholder="password">'
        "<button>Log in</button></form>",
        status=200 if not error else 401,
    )


@require_POST
def logout_view(request):
    logout(request)  # flushes the session: DELETE /v1/sessions/{id}
    return redirect("index")


@require_POST
@login_required
def logout_other_devices(request):
    """DELETE /v1/users/{user}/sessions?except={this session}: sessiond's user index.

    The session engine records the logged-in user's id as the session's
    ``user``, so every device's session is in the index.
    """
    deleted = get_client().delete_user_sessions(str(request.user.pk), except_id=request.session.session_key)
    if request.accepts("application/json") and not request.accepts("text/html"):
        return JsonResponse({"deleted": deleted})
    return _page(request, f'<p>Logged out <span id="deleted">{deleted}</span> other session(s).</p>'
                 + _device_table(request))


def _device_table(request):
    """The user's sessions as sessiond lists them (most recently seen first),
    each with the device DeviceMiddleware recorded at login."""
    rows = []
    for s in get_client().user_sessions(str(request.user.pk)):
        device = s.device or {}
        current = s.id == request.session.session_key
        rows.append(
            f'<tr class="session{" current" if current else ""}" data-id="{escape(s.id)}">'
            f'<td class="user-agent">{escape(str(device.get("user_agent") or "unknown"))}</td>'
            f'<td class="ip">{escape(str(device.get("ip") or "unknown"))}</td>'
            f'<td class="last-seen">{escape(s.last_seen_at or "never")}</td>'
            f'<td>{"<b>this device</b>" if current else ""}</td></tr>'
        )
    return ('<table id="devices"><tr><th>Browser</th><th>IP</th><th>Last seen (UTC)</th><th></th></tr>'
            + "".join(rows) + "</table>")


@login_required
def devices(request):
    """Where "log out my other devices" is: every session of the user, with its device."""
    return _page(request, "<h1>Your devices</h1>" + _device_table(request))


@login_required
def my_sessions(request):
    """The current user's live sessions, from sessiond's user index, most recently seen first."""
    sessions = get_client().user_sessions(str(request.user.pk))
    return JsonResponse({
        "current": request.session.session_key,
        "sessions": [{"id": s["id"], "expires_at": s["expires_at"], "created_at": s["created_at"],
                      "device": s.device, "last_seen_at": s.last_seen_at} for s in sessions],
    })
