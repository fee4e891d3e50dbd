"""The scenario (../scenario.py) in Django."""

import json

import scenario
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt


def text(body):
    return HttpResponse(body, content_type="text/plain")


def hello(request):
    return text("hello from django\n")


def boom(request):
    scenario.fail()


def to_hello(request):
    return HttpResponseRedirect("/hello")


def cookies(request):
    response = text("two cookies\n")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    return response


@csrf_exempt
def form(request):
    return text(scenario.form_text(request.POST["name"], request.POST["colour"]))


@csrf_exempt
def upload(request):
    upload = request.FILES["upload"]
    return JsonResponse(scenario.upload_summary(request.POST["note"], upload.name, upload.read()))


@csrf_exempt
def json_body(request):
    return JsonResponse(scenario.json_answer(json.loads(request.body)))


def stream(request):
    path = request.path
    return StreamingHttpResponse((chunk + path + "\n" for chunk in scenario.STREAM_CHUNKS), content_type="text/plain")


def file(request):
    return FileResponse(open(scenario.REPORT, "rb"), content_type="text/plain")


def path(request, rest):
    return text("path: %s\n" % rest)
