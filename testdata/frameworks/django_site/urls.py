from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("hello", views.hello),
    path("boom", views.boom),
    path("redirect", views.to_hello),
    path("cookies", views.cookies),
    path("form", views.form),
    path("upload", views.upload),
    path("json", views.json_body),
    path("stream", views.stream),
    path("file", views.file),
    path("path/<path:rest>", views.path),
]
