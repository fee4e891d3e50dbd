/* Plays IIS's FastCGI module towards one process, the way iisfcgi.dll does
 * it (see iis-fastcgi-facts.md, section 2): a duplex, overlapped, byte-mode
 * named pipe \\.\pipe\IISFCGI-<id> whose server end becomes the child's
 * stdin, with the client end opened by us BEFORE the child starts; stdout
 * and stderr invalid; _FCGI_X_PIPE_ and _FCGI_SHUTDOWN_EVENT_ in the
 * environment. Then: two requests on the first connection (FCGI_KEEP_CONN),
 * disconnect and reconnect (the gateway must accept again), one more
 * request, then signal the shutdown event and expect exit code 0.
 *
 * usage: iis_pipe.exe CHILD_COMMAND_LINE
 * prints each response, then "N passed, M failed"; exit 0 when all passed. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what) {
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (ok) passed++; else failed++;
}

static void put_record(unsigned char **p, int type, int id, const unsigned char *data, int len) {
    unsigned char *o = *p;
    o[0] = 1; o[1] = (unsigned char)type; o[2] = (unsigned char)(id >> 8); o[3] = (unsigned char)id;
    o[4] = (unsigned char)(len >> 8); o[5] = (unsigned char)len; o[6] = 0; o[7] = 0;
    memcpy(o + 8, data, len);
    *p = o + 8 + len;
}

static int put_pair(unsigned char *o, const char *name, const char *value) {
    int n = (int)strlen(name), v = (int)strlen(value);
    o[0] = (unsigned char)n; o[1] = (unsigned char)v;   /* all short here */
    memcpy(o + 2, name, n); memcpy(o + 2 + n, value, v);
    return 2 + n + v;
}

static BOOL write_all(HANDLE h, const unsigned char *buf, DWORD len) {
    OVERLAPPED ov = {0};
    DWORD done;
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    while (len > 0) {
        if (!WriteFile(h, buf, len, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) return FALSE;
        if (!GetOverlappedResult(h, &ov, &done, TRUE)) return FALSE;
        buf += done; len -= done;
    }
    CloseHandle(ov.hEvent);
    return TRUE;
}

static BOOL read_exact(HANDLE h, unsigned char *buf, DWORD len) {
    OVERLAPPED ov = {0};
    DWORD done;
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    while (len > 0) {
        if (!ReadFile(h, buf, len, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) return FALSE;
        if (WaitForSingleObject(ov.hEvent, 20000) != WAIT_OBJECT_0) { CancelIo(h); return FALSE; }
        if (!GetOverlappedResult(h, &ov, &done, FALSE) || done == 0) return FALSE;
        buf += done; len -= done;
        ResetEvent(ov.hEvent);
    }
    CloseHandle(ov.hEvent);
    return TRUE;
}

/* Sends one GET request and collects FCGI_STDOUT until FCGI_END_REQUEST. */
static int request(HANDLE h, int id, const char *path, char *out, int cap) {
    unsigned char params[2048], wire[4096], *p = wire, head[8], content[65536 + 256];
    int plen = 0, got = 0;
    unsigned char begin[8] = {0, 1, 1, 0, 0, 0, 0, 0};   /* RESPONDER, FCGI_KEEP_CONN */
    plen += put_pair(params + plen, "REQUEST_METHOD", "GET");
    plen += put_pair(params + plen, "SCRIPT_NAME", path);
    plen += put_pair(params + plen, "PATH_INFO", path);
    plen += put_pair(params + plen, "QUERY_STRING", "from=wine");
    plen += put_pair(params + plen, "SERVER_SOFTWARE", "Microsoft-IIS/10.0");
    plen += put_pair(params + plen, "SERVER_NAME", "localhost");
    plen += put_pair(params + plen, "SERVER_PORT", "80");
    plen += put_pair(params + plen, "APPL_PHYSICAL_PATH", "C:\\inetpub\\wwwroot\\");
    put_record(&p, 1, id, begin, 8);
    put_record(&p, 4, id, params, plen);
    put_record(&p, 4, id, NULL, 0);
    put_record(&p, 5, id, NULL, 0);
    if (!write_all(h, wire, (DWORD)(p - wire))) return -1;
    for (;;) {
        int type, rid, clen, pad;
        if (!read_exact(h, head, 8)) return -1;
        type = head[1]; rid = (head[2] << 8) | head[3];
        clen = (head[4] << 8) | head[5]; pad = head[6];
        if (clen + pad > 0 && !read_exact(h, content, clen + pad)) return -1;
        if (rid != id) return -1;
        if (type == 6 && got + clen < cap) { memcpy(out + got, content, clen); got += clen; }
        if (type == 3) { out[got] = 0; return got; }
    }
}

static HANDLE open_client(const char *name) {
    for (int i = 0; i < 200; i++) {
        HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
        if (h != INVALID_HANDLE_VALUE) return h;
        WaitNamedPipeA(name, 100);
    }
    return INVALID_HANDLE_VALUE;
}

int main(int argc, char **argv) {
    char name[128], env_pipe[160], env_event[64], out[200000];
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    STARTUPINFOA si = {sizeof si};
    PROCESS_INFORMATION pi;
    HANDLE server, client, shutdown;
    DWORD code = 1;
    int n;
    if (argc < 2) { fprintf(stderr, "usage: iis_pipe.exe CHILD_COMMAND_LINE\n"); return 2; }

    snprintf(name, sizeof name, "\\\\.\\pipe\\IISFCGI-test-%lu", GetCurrentProcessId());
    server = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0, &inherit);
    check(server != INVALID_HANDLE_VALUE, "create the named pipe");
    client = open_client(name);   /* IIS connects before starting the child */
    check(client != INVALID_HANDLE_VALUE, "connect to the pipe before the child starts");
    shutdown = CreateEventA(&inherit, TRUE, FALSE, NULL);

    snprintf(env_pipe, sizeof env_pipe, "_FCGI_X_PIPE_=%s", name);
    snprintf(env_event, sizeof env_event, "_FCGI_SHUTDOWN_EVENT_=%llu", (unsigned long long)(ULONG_PTR)shutdown);
    _putenv(env_pipe);
    _putenv(env_event);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = server;
    si.hStdOutput = INVALID_HANDLE_VALUE;
    si.hStdError = INVALID_HANDLE_VALUE;
    if (!CreateProcessA(NULL, argv[1], NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        printf("CreateProcess failed: %lu\n", GetLastError());
        printf("%d passed, %d failed\n", passed, failed + 1);
        return 1;
    }

    for (int id = 1; id <= 2; id++) {
        n = request(client, id, "/first/connection", out, sizeof out);
        printf("--- response %d ---\n%.300s\n", id, n > 0 ? out : "(none)");
        check(n > 0 && strstr(out, "Status: 200 OK") != NULL, "request on the first connection answered 200");
        check(n > 0 && strstr(out, "from=wine") != NULL, "the test app shows the request's QUERY_STRING");
    }

    CloseHandle(client);   /* IIS disconnects; the gateway must accept again */
    client = open_client(name);
    check(client != INVALID_HANDLE_VALUE, "reconnect after a disconnect");
    n = request(client, 7, "/second/connection", out, sizeof out);
    check(n > 0 && strstr(out, "/second/connection") != NULL, "request on the second connection answered");

    SetEvent(shutdown);    /* signalBeforeTerminateSeconds: ask it to stop */
    if (WaitForSingleObject(pi.hProcess, 20000) != WAIT_OBJECT_0) TerminateProcess(pi.hProcess, 99);
    GetExitCodeProcess(pi.hProcess, &code);
    printf("child exit code %lu\n", code);
    check(code == 0, "_FCGI_SHUTDOWN_EVENT_ makes the gateway exit 0");

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
