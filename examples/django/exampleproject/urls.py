from django.urls import path

from demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("logout-others/", views.logout_other_devices, name="logout-others"),
    path("sessions/", views.my_sessions, name="my-sessions"),
    path("devices/", views.devices, name="devices"),
]
