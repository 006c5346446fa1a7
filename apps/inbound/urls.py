from django.urls import re_path

from apps.inbound import views

urlpatterns = [
    re_path(r"^email/(?P<token>[^/]+)/?$", views.email, name="inbound-email"),
    re_path(r"^email/(?P<token>[^/]+)/(?P<esp>[a-z_]+)/?$", views.email_esp, name="inbound-esp"),
    re_path(r"^text/(?P<token>[^/]+)/?$", views.text, name="inbound-text"),
    re_path(r"^text/(?P<token>[^/]+)/status/?$", views.text_status, name="inbound-text-status"),
    re_path(r"^form/(?P<token>[^/]+)/?$", views.form, name="inbound-form"),
]
