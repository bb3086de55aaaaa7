"""Fresh IPython kernels for the pipeline without paying for PyTorch's and fastai's imports each time.

Every lesson, exercise and test notebook starts with `from fastai.vision.all import *`, which takes 4 to 7 s of CPU on
the 2-core machine, and the pipeline starts more than twenty kernels. A *zygote* is one process that imports those
libraries once and then forks a new kernel process for each notebook. A forked kernel is a fresh kernel in every way a
notebook can tell: a new process with its own pid, working folder, environment and standard streams, an empty
namespace (the notebook's own `import` lines still run, and find the modules loaded), and fresh random states (Python's
`random`, NumPy's and PyTorch's generators are reseeded from the operating system, as at the start of any process), so
a cell that forgets its seed still prints something new in every kernel, and the check of the committed outputs still
catches it.

    python tools/kernel_zygote.py serve SOCKET        the zygote: import, then fork a kernel per request on SOCKET
    python tools/kernel_zygote.py kernel -f FILE ...  what a kernel manager launches (see `kernel_spec`): asks the
                                                      zygote named by $MNIST_KERNEL_ZYGOTE for a kernel, passes on
                                                      its own working folder, environment and standard streams,
                                                      relays signals to it and exits with its exit status. Without a
                                                      zygote (variable unset, or nothing listening), it becomes an
                                                      ordinary `python -m ipykernel_launcher` in place.

tools/pipeline.sh starts the zygote for stages 3 and 4 and stops it at the end; tools/check_outputs.py and
tools/exercises.py launch their kernels through `use_zygote(km)` when $MNIST_KERNEL_ZYGOTE is set.
"""
import array, json, os, signal, socket, sys

ENV = 'MNIST_KERNEL_ZYGOTE'
INLINE = 'module://matplotlib_inline.backend_inline'
# Variables that libraries read once, when they are imported: a kernel asked for with other values than the
# zygote's is not forked but started the ordinary way (for example under another ATEN_CPU_CAPABILITY).
BY_IMPORT = {}
AT_IMPORT = ('ATEN_', 'OMP_', 'MKL_', 'OPENBLAS_', 'KMP_', 'TORCH', 'CUDA', 'PYTHON', 'LD_', 'MPLBACKEND', 'MPLCONFIGDIR')


def _at_import(env):
    "The variables of `env` that the preloaded libraries read when they are imported."
    env = {**env, 'MPLBACKEND': env.get('MPLBACKEND') or INLINE}
    return {k: v for k, v in env.items() if k.startswith(AT_IMPORT)}


def kernel_spec():
    "A jupyter_client `KernelSpec` whose kernels come from the zygote (or, without one, are ordinary ipykernels)."
    from jupyter_client.kernelspec import KernelSpec
    return KernelSpec(argv=[sys.executable, os.path.abspath(__file__), 'kernel', '-f', '{connection_file}'],
                      display_name='Python 3 (ipykernel)', language='python', env={}, metadata={})


def use_zygote(km):
    "Have the jupyter_client kernel manager `km` launch its kernel through the zygote, when one runs ($MNIST_KERNEL_ZYGOTE)."
    if os.environ.get(ENV): km._kernel_spec = kernel_spec()


# ------------------------------------------------------------------------------------------------------- the zygote

def _preload():
    """Import the heavy libraries under fastai (PyTorch, torchvision, pandas, matplotlib, scikit-learn, IPython's kernel): about 4 s of
    the 5 that `from fastai.vision.all import *` takes. Not fastai, fastcore or fastprogress: they decide when they are
    imported whether they run in a notebook (progress bars as HTML or as text), so each kernel imports them itself."""
    os.environ.setdefault('MPLBACKEND', INLINE)        # as ipykernel sets it, so that rcParams agree in the kernel
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import ipykernel.kernelapp, ipykernel.ipkernel, IPython                 # noqa: F401
        import numpy, pandas, PIL.Image, torch, matplotlib, matplotlib.pyplot    # noqa: F401
        import torchvision, torchvision.models, torchvision.ops                  # noqa: F401
        import sklearn, sklearn.metrics                                          # noqa: F401  (fastai's metrics)
    # pandas, too, looks once where it runs: outside a kernel its tables may use the terminal's whole width
    # (display.max_columns 0); in a kernel they show at most 20 columns. Give it a kernel's default.
    from pandas._config import config as pd_config
    pd_config._registered_options['display.max_columns'] = pd_config._registered_options['display.max_columns']._replace(defval=20)
    pandas.set_option('display.max_columns', 20)
    leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('fastai', 'fastcore', 'fastprogress', 'matplotlib_inline'))
    if leaked: sys.exit(f'kernel zygote: {leaked[0]} was imported, and decides at import whether it runs in a notebook')


def _child(conn, request, fds):
    "In the forked process: become the requested kernel. Never returns."
    try:
        conn.close()
        for target, fd in enumerate(fds): os.dup2(fd, target)
        for fd in fds: os.close(fd)
        os.chdir(request['cwd'])
        os.environ.clear(); os.environ.update(request['env'])
        for k, v in BY_IMPORT.items(): os.environ.setdefault(k, v)              # as PyTorch's import would set them
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        import random, numpy, torch
        random.seed(); numpy.random.seed(); torch.seed()                        # fresh states, as in a new process
        _watch(request['client'])
        argv = list(request['argv'])
        if os.environ.get('JPY_PARENT_PID'):        # read by ipykernel when imported: tell it now (no banner on stdout)
            argv.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
        sys.argv = [sys.executable] + argv
        from ipykernel import kernelapp
        kernelapp.launch_new_instance(argv=argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:
        import traceback; traceback.print_exc()
        code = 1
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(code)


def _watch(client_pid):
    "End this kernel when the process that asked for it is gone (a kernel manager that kills it kills that process)."
    import threading, time
    def watch():
        while True:
            time.sleep(0.5)
            try: os.kill(client_pid, 0)
            except ProcessLookupError: os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def _recv(conn):
    "One request: a JSON line and the client's standard streams."
    fds = array.array('i')
    msg, anc, _, _ = conn.recvmsg(1 << 20, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    while not msg.endswith(b'\n'):
        more = conn.recv(1 << 20)
        if not more: raise ConnectionError('request cut short')
        msg += more
    return json.loads(msg), list(fds)


def serve(path):
    "Import once, then fork a kernel for each connection on the Unix socket `path`; report each kernel's exit status."
    own = _at_import(os.environ)
    _preload()
    # PyTorch sets a few variables itself when imported (KMP_DUPLICATE_LIB_OK, ...): a kernel may arrive with them
    # (its manager imported PyTorch) or without them (it will set them when it imports PyTorch).
    global BY_IMPORT
    by_import = BY_IMPORT = {k: v for k, v in _at_import(os.environ).items() if k not in own}
    import select
    if os.path.exists(path): os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path); server.listen(16)
    waiting = {}                                                                # pid -> connection of its client
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f'kernel zygote ready on {path} (pid {os.getpid()})', file=sys.stderr, flush=True)
    try:
        while True:
            ready, _, _ = select.select([server], [], [], 0.1)
            if ready:
                conn, _ = server.accept()
                try: request, fds = _recv(conn)
                except (OSError, ValueError, ConnectionError): conn.close(); continue
                theirs = _at_import(request['env'])
                differ = sorted(k for k in own.keys() | theirs.keys()
                                if own.get(k) != theirs.get(k) and not (k in by_import and theirs.get(k) == by_import[k]))
                if differ:
                    print(f"kernel zygote: not forking a kernel whose {', '.join(differ)} differ", file=sys.stderr, flush=True)
                    for fd in fds: os.close(fd)
                    conn.sendall(b'{"fallback": true}\n'); conn.close(); continue
                pid = os.fork()
                if pid == 0: server.close(); _child(conn, request, fds)
                for fd in fds: os.close(fd)
                conn.sendall(json.dumps({'pid': pid}).encode() + b'\n')
                waiting[pid] = conn
            while waiting:                                                       # reap the kernels that ended
                try: pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError: break
                if pid == 0: break
                conn = waiting.pop(pid, None)
                if conn is None: continue
                try: conn.sendall(json.dumps({'exit': os.waitstatus_to_exitcode(status)}).encode() + b'\n')
                except OSError: pass
                conn.close()
    finally:
        server.close()
        if os.path.exists(path): os.unlink(path)


# ------------------------------------------------------------------------------------------------------- the client

def kernel(argv):
    "Run a kernel for `argv` (ipykernel's own arguments): forked by the zygote if there is one, else in this process."
    path = os.environ.get(ENV)
    conn = None
    if path:
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(path)
        except OSError:
            conn = None
    if conn is None:
        os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *argv])
    request = {'argv': argv, 'cwd': os.getcwd(), 'env': dict(os.environ), 'client': os.getpid()}
    conn.sendmsg([json.dumps(request).encode() + b'\n'],
                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [0, 1, 2]))])
    reader = conn.makefile('rb')
    reply = json.loads(reader.readline() or b'{"fallback": true}')
    if 'pid' not in reply:
        conn.close()
        os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *argv])
    pid = reply['pid']
    def relay(signum, frame):
        try: os.kill(pid, signum)
        except ProcessLookupError: pass
        if signum != signal.SIGINT: os._exit(128 + signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(s, relay)
    line = reader.readline()
    sys.exit(json.loads(line)['exit'] if line else 1)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'serve': serve(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == 'kernel': kernel(sys.argv[2:])
    else: sys.exit('usage: python tools/kernel_zygote.py serve SOCKET | kernel -f CONNECTION_FILE')
