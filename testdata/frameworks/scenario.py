"""What every framework app in this folder answers, so that the five apps
differ only in how their framework does it. The test that drives them is
tests/it/frameworks/; each route is one thing real apps rely on.

    GET  /hello                a plain page (HEAD too)
    GET  /nonexistent          the framework's own 404
    GET  /boom                 a view that raises: the framework's own 500
    GET  /redirect             a redirect to /hello
    GET  /cookies              two Set-Cookie headers
    POST /form                 an urlencoded form, echoed
    POST /upload               a multipart upload: a file and a field
    POST /json                 a JSON body, summed and echoed
    GET  /stream               a streamed response, chunk by chunk
    GET  /file                 static/report.txt through wsgi.file_wrapper
    GET  /path/<rest>          the decoded path segment, echoed
"""

import hashlib
import json
import os

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "report.txt")
STREAM_CHUNKS = ["chunk %d of the streamed response\n" % i for i in range(5)]


def form_text(name, colour):
    return "name=%s colour=%s\n" % (name, colour)


def upload_summary(note, filename, data):
    return {
        "note": note,
        "filename": filename,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def json_answer(document):
    return {"sum": sum(document["numbers"]), "text": document["text"]}


def dumps(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def fail():
    raise RuntimeError("the view failed on purpose")
