"""The scenario (scenario.py) in Falcon."""

import falcon

import scenario


class Hello:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "hello from falcon\n"


class Boom:
    def on_get(self, req, resp):
        scenario.fail()


class Redirect:
    def on_get(self, req, resp):
        raise falcon.HTTPFound("/hello")


class Cookies:
    def on_get(self, req, resp):
        resp.set_cookie("first", "1", secure=False, http_only=False)
        resp.set_cookie("second", "2", secure=False)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "two cookies\n"


class Form:
    def on_post(self, req, resp):
        form = req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = scenario.form_text(form["name"], form["colour"])


class Upload:
    def on_post(self, req, resp):
        note = upload = None
        for part in req.get_media():
            if part.name == "note":
                note = part.text
            elif part.name == "upload":
                upload = (part.filename, part.stream.read())
        resp.media = scenario.upload_summary(note, *upload)


class Json:
    def on_post(self, req, resp):
        resp.media = scenario.json_answer(req.get_media())


class Stream:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = ((chunk + req.path + "\n").encode() for chunk in scenario.STREAM_CHUNKS)


class File:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = open(scenario.REPORT, "rb")


class Path:
    def on_get(self, req, resp, rest):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "path: %s\n" % rest


app = falcon.App()
app.req_options.auto_parse_form_urlencoded = False
for route, resource in [
    ("/hello", Hello()),
    ("/boom", Boom()),
    ("/redirect", Redirect()),
    ("/cookies", Cookies()),
    ("/form", Form()),
    ("/upload", Upload()),
    ("/json", Json()),
    ("/stream", Stream()),
    ("/file", File()),
    ("/path/{rest:path}", Path()),
]:
    app.add_route(route, resource)
