"""A bare FastCGI responder for the emulator's tests of IIS's CGI-response
parsing: it answers on stdin (IIS mode) with the output named by the URL
path, whatever a WSGI gateway would never write."""
import socket
import struct

REPLIES = {
    b'/garbage': b'this is not a header\r\n\r\nbody',
    b'/redirect': b'Location: /elsewhere\r\n\r\n',
    b'/nothing': b'',
    b'/reason': b'Status: 299 Custom Reason\r\nX-Custom: yes\r\n\r\nok',
    b'/bare-lf': b'Status: 201\nContent-Type: text/plain\n\nlf only',
}


def names(params):
    """The FastCGI name-value pairs of a PARAMS stream."""
    pairs, i = {}, 0
    while i < len(params):
        lengths = []
        for _ in range(2):
            if params[i] >> 7:
                lengths.append(struct.unpack('>I', params[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lengths.append(params[i])
                i += 1
        name, value = params[i:i + lengths[0]], params[i + lengths[0]:i + lengths[0] + lengths[1]]
        pairs[name] = value
        i += lengths[0] + lengths[1]
    return pairs


def record(kind, request_id, content):
    return struct.pack('>BBHHBB', 1, kind, request_id, len(content), 0, 0) + content


def main():
    conn = socket.socket(fileno=0)
    stream = conn.makefile('rb')
    params = b''
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return
        _, kind, request_id, length, padding, _ = struct.unpack('>BBHHBB', header)
        content = stream.read(length)
        stream.read(padding)
        if kind == 4:
            params += content
        elif kind == 5 and not content:
            path = names(params).get(b'PATH_INFO', b'')
            params = b''
            reply = REPLIES.get(path, b'Status: 404 Not Found\r\n\r\n')
            out = (record(6, request_id, reply) if reply else b'') + record(6, request_id, b'')
            out += record(3, request_id, b'\0' * 8)
            conn.sendall(out)


main()
