"""The scenario (scenario.py) in Bottle."""

import os

import bottle

import scenario

app = bottle.Bottle()


@app.get("/hello")
def hello():
    return "hello from bottle\n"


@app.get("/boom")
def boom():
    scenario.fail()


@app.get("/redirect")
def to_hello():
    bottle.redirect("/hello")


@app.get("/cookies")
def cookies():
    bottle.response.set_cookie("first", "1")
    bottle.response.set_cookie("second", "2", httponly=True)
    return "two cookies\n"


@app.post("/form")
def form():
    return scenario.form_text(bottle.request.forms.getunicode("name"), bottle.request.forms.getunicode("colour"))


@app.post("/upload")
def upload():
    upload = bottle.request.files["upload"]
    note = bottle.request.forms.getunicode("note")
    bottle.response.content_type = "application/json"
    return scenario.dumps(scenario.upload_summary(note, upload.raw_filename, upload.file.read()))


@app.post("/json")
def json_body():
    bottle.response.content_type = "application/json"
    return scenario.dumps(scenario.json_answer(bottle.request.json))


@app.get("/stream")
def stream():
    bottle.response.content_type = "text/plain"
    path = bottle.request.path
    return (chunk + path + "\n" for chunk in scenario.STREAM_CHUNKS)


@app.get("/file")
def file():
    root, name = os.path.split(scenario.REPORT)
    return bottle.static_file(name, root=root, mimetype="text/plain")


@app.get("/path/<rest:path>")
def path(rest):
    return "path: %s\n" % rest
