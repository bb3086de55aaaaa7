# nbgrader's configuration for a course that grades mnist-linear's exercises: a sample.
# `make course COURSE=DIR` (tools/course.py) copies it into DIR, the course folder, where nbgrader reads it
# whenever it runs there; change the copy, not this file. INSTRUCTORS.md says how to grade.
import os, sys

c = get_config()  # noqa: F821 (nbgrader defines get_config before it runs this file)

# The course's name in the gradebook (tools/course.py creates DIR/gradebook.db with it).
c.CourseDirectory.course_id = 'mnist-linear'

# nbgrader runs the program `alembic` from PATH when it creates a gradebook. Putting the folder of the Python that runs
# nbgrader first on PATH lets `/path/to/mnist-linear/.venv/bin/nbgrader ...` work without activating the environment.
bin_dir = os.path.dirname(sys.executable)
if os.environ.get('PATH', '').split(os.pathsep)[0] != bin_dir:
    os.environ['PATH'] = bin_dir + os.pathsep + os.environ.get('PATH', '')

# Seconds a cell may run during autograde and validate (nbgrader's default is 30). Lesson 03's sgd_run check trains
# the model for 21 epochs; a slow machine, or a learner's slow function, needs more. A learner's endless loop is
# stopped after this long and its cell scores 0.
c.Execute.timeout = 300
