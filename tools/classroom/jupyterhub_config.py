# JupyterHub's configuration for a class on one machine. `classroom.py start` runs the hub with it; it reads
# $MNIST_CLASSROOM_DIR/classroom.json, which `classroom.py setup` writes (tools/classroom/classroom.py says what is where).
import grp, json, os, sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub defines get_config before it runs this file)
srv = Path(os.environ['MNIST_CLASSROOM_DIR'])
conf = json.loads((srv/'classroom.json').read_text())
venv_bin = Path(conf['venv'])/'bin'

# Where it listens: the public proxy on ip:port, the hub's own API and the proxy's API on the next two ports, locally.
c.JupyterHub.bind_url = f"http://{conf['ip']}:{conf['port']}"
c.JupyterHub.hub_ip, c.JupyterHub.hub_port = '127.0.0.1', conf['port'] + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{conf['port'] + 2}"
c.ConfigurableHTTPProxy.command = [conf['chp']]          # configurable-http-proxy from npm (package-lock.json)
c.ConfigurableHTTPProxy.pid_file = str(srv/'hub'/'proxy.pid')
c.JupyterHub.db_url = f"sqlite:///{srv/'hub'/'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(srv/'hub'/'jupyterhub_cookie_secret')
c.JupyterHub.pid_file = str(srv/'hub'/'jupyterhub.pid')

# Real accounts: the machine's users, checked by PAM; only the class's two groups log in, the instructors are admins.
c.JupyterHub.authenticator_class = 'pam'
c.PAMAuthenticator.allowed_groups = {conf['instructors'], conf['students']}
c.PAMAuthenticator.admin_groups = {conf['instructors']}

# Each user's server runs as that user, in their home, with the classroom environment (the learner lock and
# JupyterHub, nbgitpuller, nbgrader): its kernel is the learners' Python. The data is installed once, read-only.
c.Spawner.cmd = [str(venv_bin/'jupyterhub-singleuser')]
c.Spawner.default_url = '/lab'
c.Spawner.http_timeout = c.Spawner.start_timeout = 120
c.Spawner.environment = {
    'PATH': f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
    'FASTAI_HOME': str(srv/'fastai'),
    # one thread per kernel: forty kernels on a few cores share them instead of fighting over them
    'OMP_NUM_THREADS': '1',
    # nbgitpuller clones srv/lessons.git, which root owns: git wants it named safe in a system-wide configuration, and
    # srv/etc/gitconfig (in place of /etc/gitconfig, for the hub's servers only) does that; ~/.gitconfig still counts
    'GIT_CONFIG_SYSTEM': str(srv/'etc'/'gitconfig'),
}


def by_role(spawner):
    "Students get nbgrader's Assignments tab only; instructors also the formgrader (srv/etc/<role>, then srv/etc/common)."
    role = 'instructor' if spawner.user.name in grp.getgrnam(conf['instructors']).gr_mem else 'student'
    spawner.environment['JUPYTER_CONFIG_PATH'] = os.pathsep.join([str(srv/'etc'/role), str(srv/'etc'/'common')])


c.Spawner.pre_spawn_hook = by_role

# A server idle for cull_after seconds is stopped (its files stay); the culler is a service of the hub.
c.JupyterHub.services = [{'name': 'idle-culler',
                          'command': [sys.executable, '-m', 'jupyterhub_idle_culler', f"--timeout={conf['cull_after']}"]}]
c.JupyterHub.load_roles = [{'name': 'idle-culler', 'services': ['idle-culler'],
                            'scopes': ['list:users', 'read:users:activity', 'read:servers', 'delete:servers']}]
