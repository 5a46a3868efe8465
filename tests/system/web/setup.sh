# An HTTP server on the host's fleet address, port 8080: static files under /srv/http, a JSON
# status at /api/status, and /api/echo, which answers a POSTed JSON body with it and a note.
set -e
mkdir -p /srv/http/keys /opt/downloads
printf 'release notes 2.1\n' > /srv/http/notes.txt
printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\nsteward test key\n-----END PGP PUBLIC KEY BLOCK-----\n' > /srv/http/keys/app.asc
cat > /usr/local/bin/test-http <<'PY'
import http.server, json, os
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory="/srv/http", **k)
    def do_GET(self):
        if self.path == "/api/status":
            return self.reply(200, {"status": "ok", "version": "2.1"})
        return super().do_GET()
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/echo":
            return self.reply(201, {"got": body, "note": "created"})
        self.reply(404, {"error": "no such endpoint"})
    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
PY
setsid python3 /usr/local/bin/test-http </dev/null >/dev/null 2>&1 &
for i in $(seq 50); do bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null && break; sleep 0.1; done
