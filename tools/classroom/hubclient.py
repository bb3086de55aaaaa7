"""A learner's browser, without the browser: log in to the hub with a form, start the server, call its APIs and run
code in a kernel over the proxy's websocket, as JupyterLab does. tests/test_classroom.py and
benchmarks/bench_classroom.py use it; every wait is bounded."""
import asyncio, json, time, uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


class HubError(Exception):
    "The hub or a server did not answer as a browser expects."


class Learner:
    def __init__(self, base, name, password):
        self.base, self.name, self.password = base.rstrip('/'), name, password
        self.s = requests.Session()
        self.user_url = f"{self.base}/user/{name}"

    def _xsrf(self, path):
        "The _xsrf cookie a page under `path` set (JupyterLab sends it back as X-XSRFToken)."
        best = None
        for ck in self.s.cookies:
            if ck.name == '_xsrf' and path.startswith(ck.path) and (best is None or len(ck.path) > len(best.path)): best = ck
        return best.value if best else ''

    def request(self, method, url, timeout=60, **kw):
        path = '/' + url.split('/', 3)[3]
        headers = {'X-XSRFToken': self._xsrf(path), **kw.pop('headers', {})}
        return self.s.request(method, url, headers=headers, timeout=timeout, **kw)

    def login(self):
        "Log in with the hub's form; return the hub's response time in seconds."
        t = time.perf_counter()
        self.s.get(f"{self.base}/hub/login", timeout=30).raise_for_status()
        r = self.s.post(f"{self.base}/hub/login", data={'username': self.name, 'password': self.password,
                        '_xsrf': self._xsrf('/hub/')}, timeout=60, allow_redirects=False)
        if r.status_code != 302: raise HubError(f"login of {self.name} refused: HTTP {r.status_code}")
        return time.perf_counter() - t

    def hub_api(self, method, path, **kw):
        r = self.request(method, f"{self.base}/hub/api{path}", **kw)
        if r.status_code >= 400: raise HubError(f"{method} /hub/api{path}: HTTP {r.status_code} {r.text[:200]}")
        return r.json() if r.text else None

    def start(self, timeout=120):
        "Start this learner's server and open JupyterLab through the proxy (the OAuth round trip sets its cookie)."
        model = self.hub_api('GET', f"/users/{self.name}")
        if not model['servers'].get('', {}).get('ready'):
            if not model['servers'].get(''): self.hub_api('POST', f"/users/{self.name}/server")
            end = time.monotonic() + timeout
            while not self.hub_api('GET', f"/users/{self.name}")['servers'].get('', {}).get('ready'):
                if time.monotonic() > end: raise HubError(f"the server of {self.name} did not start in {timeout} s")
                time.sleep(0.5)
        r = self.s.get(f"{self.user_url}/lab", timeout=60)
        if r.status_code != 200 or not r.url.startswith(self.user_url):
            raise HubError(f"JupyterLab of {self.name}: HTTP {r.status_code} at {r.url}")

    def stop(self):
        self.request('DELETE', f"{self.base}/hub/api/users/{self.name}/server")

    def api(self, method, path, **kw):
        "A request to this learner's server, e.g. api('GET', '/api/contents'); returns the response."
        return self.request(method, f"{self.user_url}{path}", **kw)

    def git_pull(self, repo, branch, target, timeout=120):
        "What nbgitpuller's link page does: stream /git-pull/api until it says the pull finished; return its lines."
        q = urlencode({'repo': repo, 'branch': branch, 'targetpath': target})
        lines = []
        with self.api('GET', f"/git-pull/api?{q}", stream=True, timeout=timeout) as r:
            for raw in r.iter_lines(decode_unicode=True):
                if not raw or not raw.startswith('data:'): continue
                ev = json.loads(raw[5:])
                if ev.get('phase') == 'error': raise HubError(f"nbgitpuller: {ev.get('message', '')}{ev.get('output', '')}")
                lines.append(ev.get('output', ''))
                if ev.get('phase') == 'finished': return lines
        raise HubError(f"nbgitpuller did not finish: {''.join(lines)[-300:]}")

    def kernel(self, path=''):
        "A new kernel of this learner's server, in the folder `path` of the home; use it with `with`."
        r = self.api('POST', '/api/sessions', json={'path': f'{path}/classroom-run.ipynb'.lstrip('/'), 'type': 'notebook',
                                                    'name': '', 'kernel': {'name': 'python3'}})
        if r.status_code >= 400: raise HubError(f"no kernel for {self.name}: HTTP {r.status_code} {r.text[:200]}")
        return Kernel(self, r.json())


class Kernel:
    "A kernel reached over the proxy's websocket, as JupyterLab reaches it."
    def __init__(self, learner, session):
        self.learner, self.session, self.id = learner, session, session['kernel']['id']

    def __enter__(self): return self
    def __exit__(self, *exc): self.learner.api('DELETE', f"/api/sessions/{self.session['id']}")

    def run(self, cells, timeout=300):
        "Run each code string in turn; return [(what it printed and returned, error or None)], stopping at the first error."
        return asyncio.run(self._run(cells, timeout))

    async def _run(self, cells, timeout):
        url = f"{self.learner.user_url}/api/kernels/{self.id}/channels".replace('http', 'ws', 1)
        cookie = SimpleCookie()
        for ck in self.learner.s.cookies: cookie[ck.name] = ck.value
        req = HTTPRequest(url, headers={'Cookie': cookie.output(header='', sep=';').strip()}, request_timeout=60)
        ws = await websocket_connect(req, max_message_size=64 * 2**20)
        out, session = [], uuid.uuid4().hex
        try:
            for code in cells:
                mid = uuid.uuid4().hex
                ws.write_message(json.dumps({
                    'header': {'msg_id': mid, 'msg_type': 'execute_request', 'username': self.learner.name,
                               'session': session, 'version': '5.3', 'date': ''},
                    'parent_header': {}, 'metadata': {}, 'channel': 'shell', 'buffers': [],
                    'content': {'code': code, 'silent': False, 'store_history': True, 'user_expressions': {},
                                'allow_stdin': False, 'stop_on_error': True}}))
                text, error, idle, replied = [], None, False, False
                while not (idle and replied):
                    raw = await asyncio.wait_for(ws.read_message(), timeout)
                    if raw is None: raise HubError("the kernel's websocket closed")
                    if isinstance(raw, bytes): continue
                    msg = json.loads(raw)
                    if msg.get('parent_header', {}).get('msg_id') != mid: continue
                    kind, content = msg['msg_type'], msg['content']
                    if kind == 'stream': text.append(content['text'])
                    elif kind == 'execute_result': text.append(content['data'].get('text/plain', ''))
                    elif kind == 'error': error = f"{content['ename']}: {content['evalue']}"
                    elif kind == 'status': idle = content['execution_state'] == 'idle'
                    elif kind == 'execute_reply': replied = True
                out.append((''.join(text), error))
                if error: break
        finally: ws.close()
        return out
