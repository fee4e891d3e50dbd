"""The scenario (scenario.py) in Flask."""

from flask import Flask, Response, jsonify, redirect, request, send_file, stream_with_context

import scenario

app = Flask(__name__)


@app.route("/hello")
def hello():
    return "hello from flask\n"


@app.route("/boom")
def boom():
    scenario.fail()


@app.route("/redirect")
def to_hello():
    return redirect("/hello")


@app.route("/cookies")
def cookies():
    response = Response("two cookies\n")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    return response


@app.route("/form", methods=["POST"])
def form():
    return scenario.form_text(request.form["name"], request.form["colour"])


@app.route("/upload", methods=["POST"])
def upload():
    upload = request.files["upload"]
    return jsonify(scenario.upload_summary(request.form["note"], upload.filename, upload.read()))


@app.route("/json", methods=["POST"])
def json_body():
    return jsonify(scenario.json_answer(request.get_json()))


@app.route("/stream")
def stream():
    def chunks():
        for chunk in scenario.STREAM_CHUNKS:
            yield chunk + request.path + "\n"

    return Response(stream_with_context(chunks()), mimetype="text/plain")


@app.route("/file")
def file():
    return send_file(scenario.REPORT, mimetype="text/plain")


@app.route("/path/<path:rest>")
def path(rest):
    return "path: %s\n" % rest
